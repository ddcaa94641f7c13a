"""Consent obtained, not just recorded (§5.5): each guardian with parental responsibility of an
under-age pupil on an approved contact is emailed a one-time link (kept only as a hash) to a
page that shows who will contact their child, where, why, when and under which conditions
(their answer: consent.answers). Unanswered requests are chased with a fresh link, then shown
as having had no answer."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from consent.models import Consent, ConsentRequest, ConsentRequestPublic, RequestState
from consent.rules import ConsentTerms, consent_valid_on, needs_consent
from consent.service import ConsentedContact, ContactsOfConsent
from core.directory.access import require_role, visible_school
from core.directory.models import Guardian, Pupil, Role, School
from core.errors import Conflict, NotFound, RuleBroken
from core.once import took
from core.outbox import enqueue, one_time_links_at
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals
from core.text import one_line

LINK_PATH = "/consent/"
one_time_links_at(LINK_PATH)


def state_of(request: ConsentRequest, consent: Consent | None, at: datetime) -> RequestState:
    if request.answer == "declined":
        return RequestState.declined
    if request.answer == "given":
        withdrawn = consent is not None and consent.withdrawn_on is not None
        return RequestState.withdrawn if withdrawn else RequestState.given
    return RequestState.waiting if at < request.expires_at else RequestState.no_answer


# A pupil may have several guardians asked: the pupil's state is the furthest any reached.
_ORDER = (
    RequestState.given,
    RequestState.withdrawn,
    RequestState.declined,
    RequestState.waiting,
    RequestState.no_answer,
)


def furthest(states: list[RequestState]) -> RequestState | None:
    """One pupil's request state, from those of each guardian asked (None: nobody was)."""
    return min(states, key=_ORDER.index) if states else None


def public(session: Session, request: ConsentRequest, at: datetime) -> ConsentRequestPublic:
    consent = session.get(Consent, request.consent_id) if request.consent_id else None
    return ConsentRequestPublic.model_validate(
        {**request.model_dump(), "state": state_of(request, consent, at)}
    )


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- what the guardian is told


@dataclass(frozen=True)
class Facts:
    """Everything the guardian's page and email say, from the records as they stand."""

    pupil_name: str
    guardian_name: str
    school_name: str
    contact: ConsentedContact

    def text(self) -> str:
        """The words the guardian reads before they answer; their hash is the evidence."""
        c = self.contact
        conditions = one_line(c.conditions) if c.conditions else "none beyond the school's rules"
        return (
            f"{self.school_name} asks your consent, as {self.pupil_name}'s parent or carer, "
            f"for {one_line(c.holder_name)} to contact {self.pupil_name} online for school "
            f"work.\n"
            f"Platform and school account: {c.platform}, {one_line(c.school_account)} "
            f"(a school-owned device only).\n"
            f"Why: {one_line(c.purpose)}\n"
            f"From {c.starts_on:%d %B %Y} to {c.ends_on:%d %B %Y}.\n"
            f"Conditions: {conditions}.\n"
            "Every communication is logged by the school. You can withdraw your consent at any "
            "time with this same link, and the contact with your child ends at once."
        )


def facts_of(
    session: Session, contacts: ContactsOfConsent, request: ConsentRequest
) -> tuple[Facts, Pupil, Guardian, School]:
    contact = contacts.find(session, request.contact_id)
    pupil = session.get(Pupil, request.pupil_id)
    guardian = session.get(Guardian, request.guardian_id)
    school = session.get(School, request.school_id)
    assert contact
    assert pupil
    assert guardian
    assert school
    facts = Facts(
        pupil_name=f"{pupil.given_name} {pupil.family_name}",
        guardian_name=guardian.name,
        school_name=school.name,
        contact=contact,
    )
    return facts, pupil, guardian, school


def _email(facts: Facts, link: str, *, again: bool) -> tuple[str, str]:
    subject = (
        "Reminder: the school asks your consent for online contact with your child"
        if again
        else "The school asks your consent for online contact with your child"
    )
    body = (
        f"Dear {one_line(facts.guardian_name)},\n\n{facts.text()}\n\n"
        f"Please answer here (two taps; the link works once for each answer, and only for you):\n"
        f"  {link}\n\n-- \n{facts.school_name}, through contactlog\n"
    )
    return subject, body


def record_event(
    session: Session, actor: Principal, at: datetime, request: ConsentRequest, action: str
) -> None:
    """Each step of a request in the change record, sealing it as it now stands."""
    audit.record(
        session,
        actor=actor,
        at=at,
        action=action,
        object_type="consent_request",
        object_id=request.id,
        school_id=request.school_id,
        details={
            "contact_id": request.contact_id,
            "pupil_id": request.pupil_id,
            "guardian_id": request.guardian_id,
        },
        sealed=seals.seal(session, ("consent_request", request.id)),
    )


# ---------------------------------------------------------------- sending and chasing


def _send(
    session: Session,
    *,
    request: ConsentRequest,
    facts: Facts,
    guardian: Guardian,
    policy: Policy,
    base_url: str,
    at: datetime,
    again: bool,
) -> None:
    """A new link for this request (a reminder's link replaces the last), emailed now."""
    token = secrets.token_urlsafe(32)
    request.token_hash = digest(token)
    request.expires_at = at + timedelta(days=policy.consent_link_days)
    session.add(request)
    session.flush()
    subject, body = _email(facts, f"{base_url}{LINK_PATH}{token}", again=again)
    assert guardian.email is not None
    enqueue(
        session,
        dedupe_key=f"consent_request:{request.id}:{request.reminders_sent}",
        kind="consent_request",
        to_address=guardian.email,
        subject=subject,
        body=body,
        school_id=request.school_id,
        contact_id=request.contact_id,
        at=at,
    )


def _needs_asking(
    session: Session, pupil: Pupil, contact_id: int, policy: Policy, today: date
) -> bool:
    if not needs_consent(pupil.date_of_birth, today, policy.consent_age):
        return False
    held = session.exec(
        select(Consent).where(Consent.pupil_id == pupil.id, Consent.contact_id == contact_id)
    ).all()
    return not any(
        consent_valid_on(ConsentTerms(c.given_on, c.expires_on, c.withdrawn_on), today)
        for c in held
    )


def send_requests(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    contacts: ContactsOfConsent,
    contact_id: int,
    base_url: str,
    by_policy: bool = False,
) -> list[ConsentRequest]:
    """Ask every guardian with parental responsibility (and an email address) of each pupil on
    the approved contact who needs consent and has none; a guardian already waiting on a
    request for that pupil is not asked twice. An admin or DSL asks, or contactlog itself
    when the trust's policy says so (`by_policy`)."""
    contact = contacts.find(session, contact_id)
    if contact is None:
        raise NotFound("No such contact.")
    school = visible_school(session, actor, contact.school_id)
    if not by_policy:
        require_role(actor, school, Role.admin, Role.dsl, action="ask parents for consent")
    if not contact.approved:
        raise Conflict("Consent is asked for once the contact is approved.")
    today = policy.today(school, at)
    # Two people asking at once would both find nobody waiting and both send: the pupils' rows
    # are locked first, so the second asks only once the first has committed (and finds its
    # requests). SQLite writes one at a time already.
    session.exec(
        select(col(Pupil.id)).where(col(Pupil.id).in_(sorted(contact.pupil_ids))).with_for_update()
    ).all()
    made: list[ConsentRequest] = []
    for pupil_id in sorted(contact.pupil_ids):
        pupil = session.get(Pupil, pupil_id)
        assert pupil is not None
        if not _needs_asking(session, pupil, contact.id, policy, today):
            continue
        guardians = session.exec(
            select(Guardian).where(
                Guardian.pupil_id == pupil_id,
                col(Guardian.has_parental_responsibility),
                col(Guardian.email).is_not(None),
            )
        ).all()
        for guardian in guardians:
            # Not while one is waiting; and, sent by contactlog itself, never a second time
            # (after a refusal or no answer, asking again is a person's decision).
            earlier = select(ConsentRequest).where(
                ConsentRequest.contact_id == contact.id, ConsentRequest.guardian_id == guardian.id
            )
            if not by_policy:
                earlier = earlier.where(
                    col(ConsentRequest.answer).is_(None), col(ConsentRequest.expires_at) > at
                )
            if session.exec(earlier).first() is not None:
                continue
            assert guardian.id is not None
            assert school.id is not None
            request = ConsentRequest(
                school_id=school.id,
                contact_id=contact.id,
                pupil_id=pupil_id,
                guardian_id=guardian.id,
                token_hash=secrets.token_hex(32),  # replaced by the link's as it is sent
                sent_by_id=actor.staff_id,
                sent_at=at,
                expires_at=at,
            )
            facts = Facts(
                pupil_name=f"{pupil.given_name} {pupil.family_name}",
                guardian_name=guardian.name,
                school_name=school.name,
                contact=contact,
            )
            _send(
                session,
                request=request,
                facts=facts,
                guardian=guardian,
                policy=policy,
                base_url=base_url,
                at=at,
                again=False,
            )
            record_event(session, actor, at, request, "consent_request.sent")
            made.append(request)
    if not made and not by_policy:
        raise RuleBroken(
            "Nobody to ask: every pupil on this contact has consent, is over the consent age, "
            "is already waiting on a request, or has no guardian with parental responsibility "
            "and an email address."
        )
    return made


def list_requests(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    contacts: ContactsOfConsent,
    contact_id: int,
) -> list[ConsentRequestPublic]:
    contact = contacts.find(session, contact_id)
    if contact is None:
        raise NotFound("No such contact.")
    school = visible_school(session, actor, contact.school_id)
    require_role(actor, school, Role.admin, Role.dsl, action="read consent requests")
    rows = session.exec(
        select(ConsentRequest)
        .where(ConsentRequest.contact_id == contact_id)
        .order_by(col(ConsentRequest.id))
    ).all()
    return [public(session, r, at) for r in rows]


def chase(
    *,
    session: Session,
    policy: Policy,
    at: datetime,
    contacts: ContactsOfConsent,
    request_id: int,
    base_url: str,
) -> bool:
    """One reminder, with a fresh link, if this request is due one (True if sent)."""
    request = session.get(ConsentRequest, request_id)
    if request is None or request.answer is not None or at >= request.expires_at:
        return False
    days = policy.consent_reminder_days
    if request.reminders_sent >= len(days):
        return False
    if at < request.sent_at + timedelta(days=days[request.reminders_sent]):
        return False
    # Claimed as one conditional UPDATE: two schedulers never both send this reminder.
    if not took(
        session,
        ConsentRequest,
        request.id,
        still=col(ConsentRequest.reminders_sent) == request.reminders_sent,
        values={"reminders_sent": request.reminders_sent + 1},
    ):
        return False
    session.refresh(request)
    facts, _, guardian, _ = facts_of(session, contacts, request)
    if guardian.email is None or not guardian.has_parental_responsibility:
        return False
    # The reminder's link replaces the first; the request keeps its first deadline's length
    # from now, so a parent reminded on day 7 has a week more, not none.
    _send(
        session,
        request=request,
        facts=facts,
        guardian=guardian,
        policy=policy,
        base_url=base_url,
        at=at,
        again=True,
    )
    return True


def waiting(at: datetime) -> tuple[Any, ...]:
    """Unanswered requests whose link still works: `chase` decides whether one is due."""
    return (col(ConsentRequest.answer).is_(None), col(ConsentRequest.expires_at) > at)
