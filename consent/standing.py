"""A pupil's standing on a contact on a day: the one place that decides whether consent is
needed and held, whether the parents were informed, and whether the pupil is active."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from consent.rules import ConsentTerms, consent_valid_on, needs_consent
from core.policy import Policy


class PupilState(StrEnum):
    """Where one pupil's part of a contact stands on a day (shown, never stored)."""

    requested = "requested"
    rejected = "rejected"
    not_started = "not_started"
    awaiting_consent = "awaiting_consent"
    # A parent with parental responsibility refused: no contact until the school resolves it.
    parent_refused = "parent_refused"
    active = "active"
    # The approved end date is over; the end sweep has still to end it.
    past_end_date = "past_end_date"
    ended = "ended"
    closed = "closed"


@dataclass(frozen=True)
class Standing:
    state: PupilState
    needs_consent: bool
    consent_valid: bool
    # Only asked of pupils at or over the consent age (None below it).
    parent_informed: bool | None

    @property
    def active(self) -> bool:
        return self.state == PupilState.active

    @property
    def missing_consent(self) -> bool:
        return self.needs_consent and not self.consent_valid


def standing(
    *,
    policy: Policy,
    day: date,
    decision: str,
    starts_on: date,
    ends_on: date,
    ended_at: datetime | None,
    deletion_confirmed: bool,
    born: date,
    consents: Iterable[ConsentTerms],
    informed_on: Iterable[date],
    refused: bool,
) -> Standing:
    """The pupil's standing on the contact on `day` (in the school's time zone).

    `decision` is the contact's stored state (requested, rejected, approved, ended, closed);
    `ended_at` is when this pupil's part ended, if it has. Consent counts if valid on the day;
    parents count as informed by a notice given on or before it. `refused`: a parent's
    refusal stands unresolved (consent.refusals), which stops the contact whatever else holds.
    """
    young = needs_consent(born, day, policy.consent_age)
    valid = any(consent_valid_on(terms, day) for terms in consents)
    informed = None if young else any(on <= day for on in informed_on)
    if decision == "requested":
        state = PupilState.requested
    elif decision == "rejected":
        state = PupilState.rejected
    elif ended_at is not None:
        state = PupilState.closed if deletion_confirmed else PupilState.ended
    elif day < starts_on:
        state = PupilState.not_started
    elif day > ends_on:
        state = PupilState.past_end_date
    elif refused:
        state = PupilState.parent_refused
    elif young and not valid:
        state = PupilState.awaiting_consent
    else:
        state = PupilState.active
    return Standing(state=state, needs_consent=young, consent_valid=valid, parent_informed=informed)
