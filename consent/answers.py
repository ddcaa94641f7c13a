"""A parent's answer through their link (consent.requests sends it): give consent, recorded
with the hash of the exact text they were shown; decline, which the staff member and their
line manager hear of; or, later, withdraw, which ends the pupil's part at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from consent.models import Consent, ConsentMethod, ConsentRequest, RequestState
from consent.requests import (
    Facts,
    digest,
    facts_of,
    record_event,
    state_of,
)
from consent.service import ContactsOfConsent, consent_recorded, withdraw
from core import once
from core.directory.models import School, Staff
from core.errors import Conflict, NotFound
from core.links import page_of
from core.outbox import enqueue
from core.policy import Policy
from core.principal import Principal
from core.text import one_line


@dataclass(frozen=True)
class Opened:
    request: ConsentRequest
    facts: Facts
    state: RequestState

    @property
    def over(self) -> bool:
        """The contact is no longer going ahead for this pupil: not approved, or their part
        has ended. Nothing may be given on it any more."""
        contact = self.facts.contact
        return not contact.approved or self.request.pupil_id in contact.ended_pupil_ids


def open_link(*, session: Session, contacts: ContactsOfConsent, token: str, at: datetime) -> Opened:
    """The request this link stands for, and what its guardian is shown; NotFound for a link
    that is not one (forged, or replaced by a reminder's)."""
    request = session.exec(
        select(ConsentRequest).where(ConsentRequest.token_hash == digest(token))
    ).first()
    if request is None:
        raise NotFound("This link is not valid. If a newer email came, use its link.")
    facts, *_ = facts_of(session, contacts, request)
    consent = session.get(Consent, request.consent_id) if request.consent_id else None
    return Opened(request, facts, state_of(request, consent, at))


OVER = "This contact is no longer going ahead for your child: nothing more is needed from you."


def _guardian_actor(school: School) -> Principal:
    """The change record's actor for a parent answering through their link: no account."""
    return Principal(staff_id=None, school_id=school.id, trust_id=school.trust_id, kind="parent")


def answer(
    *,
    session: Session,
    contacts: ContactsOfConsent,
    policy: Policy,
    token: str,
    at: datetime,
    give: bool,
    reason: str | None,
    base_url: str,
) -> RequestState:
    """The guardian gives consent or declines, once; what they were shown is the evidence."""
    opened = open_link(session=session, contacts=contacts, token=token, at=at)
    request = opened.request
    if opened.state != RequestState.waiting:
        raise Conflict(_ALREADY[opened.state])
    if opened.over:
        raise Conflict(OVER)
    shown = hashlib.sha256(opened.facts.text().encode()).hexdigest()
    once.claim(
        session,
        ConsentRequest,
        request.id,
        still=col(ConsentRequest.answer).is_(None),
        values={
            "answer": "given" if give else "declined",
            "answered_at": at,
            "decline_reason": None if give else (reason or None),
            "shown_text_sha256": shown,
        },
        too_late=_ALREADY[RequestState.given],
    )
    session.refresh(request)
    school = session.get(School, request.school_id)
    assert school is not None
    actor = _guardian_actor(school)
    if give:
        consent = Consent(
            school_id=request.school_id,
            pupil_id=request.pupil_id,
            contact_id=request.contact_id,
            guardian_id=request.guardian_id,
            method=ConsentMethod.online,
            evidence_reference=f"online request #{request.id}; text sha256 {shown[:16]}",
            given_on=policy.today(school, at),
            recorded_at=at,
        )
        session.add(consent)
        session.flush()
        request.consent_id = consent.id
        session.add(request)
        session.flush()
        consent_recorded(session, actor=actor, at=at, consent=consent)
        record_event(session, actor, at, request, "consent_request.given")
        return RequestState.given
    record_event(session, actor, at, request, "consent_request.declined")
    _tell_of_refusal(session, request, opened.facts, at, base_url)
    return RequestState.declined


_ALREADY = {
    RequestState.given: "You have already answered: thank you. Use this link to withdraw later.",
    RequestState.declined: "You have already answered: the school has your refusal.",
    RequestState.withdrawn: "You have withdrawn your consent: the contact with your child ended.",
    RequestState.no_answer: "This link has expired. The school can send you a new one.",
    RequestState.waiting: "",
}


def _tell_of_refusal(
    session: Session, request: ConsentRequest, facts: Facts, at: datetime, base_url: str
) -> None:
    """The member of staff and their line manager hear that a parent said no, and that the
    contact stops for that pupil until the school resolves it (consent.refusals). The pupil is
    named in the body, never the subject."""
    holder = session.get(Staff, facts.contact.holder_id)
    people = [holder] if holder else []
    if holder and holder.line_manager_id:
        manager = session.get(Staff, holder.line_manager_id)
        if manager:
            people.append(manager)
    for person in people:
        enqueue(
            session,
            dedupe_key=f"consent_declined:{request.id}:to:{person.id}",
            kind="consent_declined",
            to_address=person.email,
            to_staff_id=person.id,
            subject=f"A parent declined consent on contact #{request.contact_id}",
            body=(
                f"A parent with parental responsibility declined consent for "
                f"{one_line(facts.pupil_name)} on contact #{request.contact_id}.\n\n"
                "Send them nothing more on it. Under the school's reading of the protocol a\n"
                "refusal stops the contact for that pupil even if another parent or carer\n"
                "consented, until the headteacher or a designated safeguarding lead has talked\n"
                "it through with the family and recorded how it was resolved.\n\n"
                f"The contact's page shows each pupil's state:\n"
                f"  {page_of(base_url, 'contact', request.contact_id)}\n"
            ),
            school_id=request.school_id,
            contact_id=request.contact_id,
            at=at,
        )


def withdraw_by_link(
    *,
    session: Session,
    contacts: ContactsOfConsent,
    policy: Policy,
    token: str,
    at: datetime,
    reason: str | None,
) -> None:
    """The guardian withdraws through the same link: the pupil's part ends at once, as when an
    admin records a withdrawal."""
    opened = open_link(session=session, contacts=contacts, token=token, at=at)
    if opened.state != RequestState.given:
        raise Conflict(_ALREADY.get(opened.state) or "There is no consent to withdraw.")
    consent = session.get(Consent, opened.request.consent_id)
    school = session.get(School, opened.request.school_id)
    assert consent is not None
    assert school is not None
    withdraw(
        session,
        actor=_guardian_actor(school),
        at=at,
        contacts=contacts,
        consent=consent,
        on=policy.today(school, at),
        reason=reason or "Withdrawn by the parent through their link.",
    )
