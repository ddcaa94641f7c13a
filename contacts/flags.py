"""§3.3 the rules a logged communication can break, worked out from the contact as logged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlmodel import Session

from consent.models import Consent
from consent.refusals import refused
from consent.rules import ConsentTerms, needs_consent
from consent.standing import standing
from contacts.models import ADVISORY_FLAGS, ContactState, Flag
from core.db import table_of
from core.policy import Policy

# What each flag means, in the words its author reads as the entry is logged.
MEANING: dict[Flag, str] = {
    Flag.before_approval: "it was before the contact was approved",
    Flag.outside_dates: "it was outside the approved dates",
    Flag.no_valid_consent: "a pupil under the consent age has no valid parental consent",
    Flag.parent_refused: "a parent refused consent for a pupil, and the school has not resolved it",
    Flag.parent_not_informed: "a pupil's parents are not on record as told (advised from 16)",
    Flag.unregistered_device: "the device is not one of the school's registered devices",
    Flag.contact_not_active: "the contact was not active",
    Flag.lexicon: "words in it are on the school's review list",
    Flag.not_logged: "the platform captured it and it was not logged in time",
}


def in_words(flags: Sequence[str]) -> str:
    """An entry's flags for a reader: "flagged: no valid consent; advice: parent not informed"
    (advice, which alerts nobody, said apart from the rules broken)."""
    broken = [f.replace("_", " ") for f in flags if f and Flag(f) not in ADVISORY_FLAGS]
    advised = [f.replace("_", " ") for f in flags if f and Flag(f) in ADVISORY_FLAGS]
    said = [f"flagged: {', '.join(broken)}"] if broken else []
    return "; ".join(said + ([f"advice: {', '.join(advised)}"] if advised else []))


def told_after_logging(flags: Sequence[str]) -> tuple[str, bool]:
    """What the person who logged an entry is told of it, and whether it is a warning: which
    rules it breaks and that the DSL hears, or that a flag is advice only."""
    meant = [MEANING[Flag(f)] for f in flags if f in MEANING]
    if not meant:
        return "Logged. It is on the record.", False
    if all(Flag(f) in ADVISORY_FLAGS for f in flags):
        return f"Logged. Advice only: {'; '.join(meant)}. Nothing else is needed now.", False
    return (
        f"Logged and flagged: {'; '.join(meant)}. It is on the record, and the designated "
        "safeguarding lead has been told.",
        True,
    )


@dataclass(frozen=True)
class LogTarget:
    """The contact a message is logged on, as the rules need it."""

    id: int
    school_id: int
    staff_id: int
    state: str
    decided_at: datetime | None
    starts_on: date
    ends_on: date
    trust_id: int
    timezone: str | None
    device_id: int | None  # the school's active device with the tag given, if any


@dataclass(frozen=True)
class LoggedPupil:
    """A pupil a message is logged about, as the rules need them."""

    pupil_id: int
    ended_at: datetime | None
    date_of_birth: date
    first_informed_on: date | None  # the first day a parent notice was given


def flags_for(
    session: Session,
    *,
    policy: Policy,
    contact: LogTarget,
    pupils: Sequence[LoggedPupil],
    occurred_at: datetime,
    day: date,
) -> list[Flag]:
    """Which rules a communication on this contact, on this day, breaks (§3.3)."""
    flags: set[Flag] = set()
    decided = contact.decided_at
    # Times are logged to the minute (as a phone shows them): an entry in the very minute of
    # the approval is not before it.
    approved_minute = decided.replace(second=0, microsecond=0) if decided is not None else None
    if contact.state in (ContactState.requested, ContactState.rejected) or (
        approved_minute is not None and occurred_at < approved_minute
    ):
        flags.add(Flag.before_approval)
    if not contact.starts_on <= day <= contact.ends_on:
        flags.add(Flag.outside_dates)
    if contact.state == ContactState.rejected or any(
        p.ended_at is not None and p.ended_at <= occurred_at for p in pupils
    ):
        flags.add(Flag.contact_not_active)
    if contact.device_id is None:
        flags.add(Flag.unregistered_device)
    # Consents are read only when some pupil is young enough to need one.
    young = [p.pupil_id for p in pupils if needs_consent(p.date_of_birth, day, policy.consent_age)]
    consents = _consents(session, contact_id=contact.id, pupil_ids=young)
    stopped = refused(session, [contact.id])
    for pupil in pupils:
        stands = standing(
            policy=policy,
            day=day,
            decision=contact.state,
            starts_on=contact.starts_on,
            ends_on=contact.ends_on,
            ended_at=None,
            deletion_confirmed=False,
            born=pupil.date_of_birth,
            consents=consents.get(pupil.pupil_id, ()),
            informed_on=[pupil.first_informed_on] if pupil.first_informed_on else [],
            refused=(contact.id, pupil.pupil_id) in stopped,
        )
        if (contact.id, pupil.pupil_id) in stopped:
            flags.add(Flag.parent_refused)
        if stands.missing_consent:
            flags.add(Flag.no_valid_consent)
        elif stands.parent_informed is False:
            flags.add(Flag.parent_not_informed)
    return sorted(flags)


_consent = table_of(Consent).c
_CONSENTS = sa.select(
    _consent.pupil_id, _consent.given_on, _consent.expires_on, _consent.withdrawn_on
).where(
    _consent.contact_id == bindparam("contact_id"),
    _consent.pupil_id.in_(bindparam("pupil_ids", expanding=True)),
)


def _consents(
    session: Session, *, contact_id: int, pupil_ids: list[int]
) -> dict[int, list[ConsentTerms]]:
    """The terms of every consent these pupils' parents gave to this contact."""
    if not pupil_ids:
        return {}
    rows = session.connection().execute(
        _CONSENTS, {"contact_id": contact_id, "pupil_ids": pupil_ids}
    )
    terms: dict[int, list[ConsentTerms]] = {}
    for r in rows:
        terms.setdefault(r.pupil_id, []).append(
            ConsentTerms(r.given_on, r.expires_on, r.withdrawn_on)
        )
    return terms
