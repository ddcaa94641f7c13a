"""Recording parental consent and parent notices, and withdrawing consent (§5.5).

A consent is given to one contact, which consent/ knows only through `ContactsOfConsent`: what a
contact is, and what happens to it when consent goes. contacts/ provides it (contacts.consenting),
so the arrows still point down while a withdrawal ends the pupil's part of the contact at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlmodel import Session, col, select

from consent.models import (
    Consent,
    ConsentCreate,
    ParentNotice,
    ParentNoticeCreate,
    WithdrawalCreate,
)
from consent.rules import needs_consent
from core import once
from core.directory.access import get_scoped
from core.directory.models import Guardian
from core.directory.pupils import pupil_in_scope
from core.errors import Conflict, Forbidden, NotFound, RuleBroken
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals


@dataclass(frozen=True)
class ConsentedContact:
    """What consent needs to know of a contact, and what a parent is told of it when asked."""

    id: int
    school_id: int
    holder_id: int
    pupil_ids: frozenset[int]
    approved: bool = False
    # Pupils whose part has ended (ended early, consent withdrawn, left the school): nobody may
    # consent to contact with them on it any more.
    ended_pupil_ids: frozenset[int] = frozenset()
    holder_name: str = ""
    platform: str = ""
    school_account: str = ""
    purpose: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    conditions: str | None = None


class ContactsOfConsent(Protocol):
    def find(self, session: Session, contact_id: int) -> ConsentedContact | None: ...

    def consent_withdrawn(
        self, session: Session, *, actor: Principal, at: datetime, consent: Consent
    ) -> None: ...


def _contact_of_school(
    session: Session, contacts: ContactsOfConsent, contact_id: int, school_id: int | None
) -> ConsentedContact:
    contact = contacts.find(session, contact_id)
    if contact is None or contact.school_id != school_id:
        raise NotFound("No such contact.")
    return contact


def record_consent(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    contacts: ContactsOfConsent,
    pupil_id: int,
    consent_in: ConsentCreate,
) -> Consent:
    """§5.5: a parent or carer with parental responsibility consents to one contact."""
    pupil, school = pupil_in_scope(session, actor, pupil_id, action="record consent")
    contact = _contact_of_school(session, contacts, consent_in.contact_id, school.id)
    if contact.holder_id == actor.staff_id:
        raise Forbidden("The member of staff who holds the contact cannot record its consent.")
    if pupil.id not in contact.pupil_ids:
        raise RuleBroken("The pupil is not on this contact.")
    guardian = session.get(Guardian, consent_in.guardian_id)
    if guardian is None or guardian.pupil_id != pupil.id:
        raise RuleBroken("The guardian must be one recorded for this pupil.")
    if not guardian.has_parental_responsibility:
        raise RuleBroken("Consent must come from someone with parental responsibility.")
    if consent_in.given_on > policy.today(school, at):
        raise RuleBroken("given_on is in the future.")
    if consent_in.given_on < pupil.date_of_birth:
        raise RuleBroken("given_on is before the pupil was born.")
    assert school.id is not None
    assert pupil.id is not None
    consent = Consent(
        **consent_in.model_dump(),
        school_id=school.id,
        pupil_id=pupil.id,
        recorded_by_id=actor.staff_id,
        recorded_at=at,
    )
    session.add(consent)
    session.flush()
    consent_recorded(session, actor=actor, at=at, consent=consent)
    return consent


def consent_recorded(session: Session, *, actor: Principal, at: datetime, consent: Consent) -> None:
    """A consent in the change record, sealed as given (by an admin, or by a parent online)."""
    audit.record(
        session,
        actor=actor,
        at=at,
        action="consent.recorded",
        object_type="consent",
        object_id=consent.id,
        school_id=consent.school_id,
        details={
            "pupil_id": consent.pupil_id,
            "contact_id": consent.contact_id,
            "given_on": consent.given_on,
            "expires_on": consent.expires_on,
        },
        sealed=seals.seal(session, ("consent", consent.id)),
    )


def list_consents(*, session: Session, actor: Principal, pupil_id: int) -> list[Consent]:
    pupil_in_scope(session, actor, pupil_id, action="read consents")
    return list(
        session.exec(
            select(Consent).where(Consent.pupil_id == pupil_id).order_by(col(Consent.id))
        ).all()
    )


def withdraw_consent(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    contacts: ContactsOfConsent,
    consent_id: int,
    withdrawal: WithdrawalCreate,
) -> Consent:
    """The pupil's part of the contact ends at once, and its holder is told to delete the method."""
    consent = get_scoped(session, actor, Consent, consent_id, "No such consent.")
    _, school = pupil_in_scope(session, actor, consent.pupil_id, action="withdraw consent")
    if consent.withdrawn_on is not None:
        raise Conflict("This consent has already been withdrawn.")
    today = policy.today(school, at)
    withdrawn_on = withdrawal.withdrawn_on or today
    if withdrawn_on > today:
        raise RuleBroken("withdrawn_on is in the future.")
    if withdrawn_on < consent.given_on:
        raise RuleBroken("withdrawn_on is before the consent was given.")
    withdraw(
        session,
        actor=actor,
        at=at,
        contacts=contacts,
        consent=consent,
        on=withdrawn_on,
        reason=withdrawal.reason,
    )
    return consent


def withdraw(
    session: Session,
    *,
    actor: Principal,
    at: datetime,
    contacts: ContactsOfConsent,
    consent: Consent,
    on: date,
    reason: str,
) -> None:
    """Once only: the consent is withdrawn on `on`, in the record, and the pupil's part of the
    contact ends now (recorded by an admin, or by the parent through their link)."""
    once.claim(
        session,
        Consent,
        consent.id,
        still=col(Consent.withdrawn_on).is_(None),
        values={"withdrawn_on": on, "withdrawal_reason": reason, "withdrawal_recorded_at": at},
        too_late="This consent has already been withdrawn.",
    )
    session.refresh(consent)
    audit.record(
        session,
        actor=actor,
        at=at,
        action="consent.withdrawn",
        object_type="consent",
        object_id=consent.id,
        school_id=consent.school_id,
        details={"pupil_id": consent.pupil_id, "contact_id": consent.contact_id},
        sealed=seals.seal(session, ("consent", consent.id)),
    )
    contacts.consent_withdrawn(session, actor=actor, at=at, consent=consent)


def record_parent_notice(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    contacts: ContactsOfConsent,
    pupil_id: int,
    notice_in: ParentNoticeCreate,
) -> ParentNotice:
    """§5.5: for a pupil at or over the consent age, parents were informed and the reason
    explained."""
    pupil, school = pupil_in_scope(session, actor, pupil_id, action="record parent notices")
    if needs_consent(pupil.date_of_birth, notice_in.informed_on, policy.consent_age):
        raise RuleBroken(
            "The pupil was under the consent age on that date: record parental consent instead."
        )
    if notice_in.informed_on > policy.today(school, at):
        raise RuleBroken("informed_on is in the future.")
    if notice_in.informed_on < pupil.date_of_birth:
        raise RuleBroken("informed_on is before the pupil was born.")
    if notice_in.contact_id is not None:
        contact = _contact_of_school(session, contacts, notice_in.contact_id, school.id)
        if pupil.id not in contact.pupil_ids:
            raise RuleBroken("The pupil is not on this contact.")
    assert school.id is not None
    assert pupil.id is not None
    notice = ParentNotice(
        **notice_in.model_dump(),
        school_id=school.id,
        pupil_id=pupil.id,
        recorded_by_id=actor.staff_id,
        recorded_at=at,
    )
    session.add(notice)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="parent_notice.recorded",
        object_type="parent_notice",
        object_id=notice.id,
        school_id=school.id,
        details={"pupil_id": pupil.id, "contact_id": notice.contact_id},
        sealed=seals.seal(session, ("parent_notice", notice.id)),
    )
    return notice


def list_parent_notices(*, session: Session, actor: Principal, pupil_id: int) -> list[ParentNotice]:
    pupil_in_scope(session, actor, pupil_id, action="read parent notices")
    return list(
        session.exec(
            select(ParentNotice)
            .where(ParentNotice.pupil_id == pupil_id)
            .order_by(col(ParentNotice.id))
        ).all()
    )
