"""§3.3 the rules a logged communication can break, worked out from the contact as logged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlmodel import Session

from consent.models import Consent
from consent.rules import ConsentTerms, consent_valid_on, needs_consent
from contacts.models import ContactState, Flag
from core.db import table_of
from core.settings import get_settings


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
class PupilOnContact:
    pupil_id: int
    ended_at: datetime | None
    date_of_birth: date
    parent_informed: bool  # on or before the day of the message


def flags_for(
    session: Session,
    *,
    contact: LogTarget,
    pupils: Sequence[PupilOnContact],
    occurred_at: datetime,
    day: date,
) -> list[Flag]:
    """Which rules a communication on this contact, on this day, breaks (§3.3)."""
    flags: set[Flag] = set()
    decided = contact.decided_at
    if contact.state in (ContactState.requested, ContactState.rejected) or (
        decided is not None and occurred_at < decided
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
    consent_age = get_settings().consent_age
    young = [p.pupil_id for p in pupils if needs_consent(p.date_of_birth, day, consent_age)]
    consented = _consented_on(session, contact_id=contact.id, pupil_ids=young, day=day)
    for pupil in pupils:
        if pupil.pupil_id in young:
            if pupil.pupil_id not in consented:
                flags.add(Flag.no_valid_consent)
        elif not pupil.parent_informed:
            flags.add(Flag.parent_not_informed)
    return sorted(flags)


_consent = table_of(Consent).c
_CONSENTS = sa.select(
    _consent.pupil_id, _consent.given_on, _consent.expires_on, _consent.withdrawn_on
).where(
    _consent.contact_id == bindparam("contact_id"),
    _consent.pupil_id.in_(bindparam("pupil_ids", expanding=True)),
)


def _consented_on(
    session: Session, *, contact_id: int, pupil_ids: list[int], day: date
) -> set[int]:
    """Of these pupils, those with parental consent to this contact valid on the day."""
    if not pupil_ids:
        return set()
    rows = session.connection().execute(
        _CONSENTS, {"contact_id": contact_id, "pupil_ids": pupil_ids}
    )
    return {
        r.pupil_id
        for r in rows
        if consent_valid_on(ConsentTerms(r.given_on, r.expires_on, r.withdrawn_on), day)
    }
