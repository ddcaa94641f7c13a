"""Contact requests, the written decision, ending, and confirming the contact method's deletion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from contacts.models import (
    Alert,
    AlertKind,
    Contact,
    ContactCreate,
    ContactDevice,
    ContactPupil,
    ContactState,
    DecisionCreate,
    DeletionTask,
    EndCreate,
)
from core import once
from core.directory.access import get_scoped, own_or_reports, require_role, visible_school
from core.directory.models import Device, Pupil, Role, School, Staff
from core.directory.pupils import births_now
from core.directory.staff import manages
from core.errors import Conflict, Forbidden, NotFound, RuleBroken
from core.pagination import Page, fetch_page
from core.policy import Policy
from core.principal import Principal
from core.record import audit


def _pupils_of_school(session: Session, school: School, contact_in: ContactCreate) -> list[int]:
    ids = set(contact_in.pupil_ids)
    found = set(
        session.exec(
            select(Pupil.id).where(col(Pupil.id).in_(ids), Pupil.school_id == school.id)
        ).all()
    )
    refs = set(contact_in.pupil_references)
    by_ref = dict(
        session.exec(
            select(Pupil.school_reference, Pupil.id).where(
                col(Pupil.school_reference).in_(refs), Pupil.school_id == school.id
            )
        ).all()
    )
    missing = len(ids - found) + len(refs - set(by_ref))
    if missing:
        raise RuleBroken(f"{missing} of the pupils named are not pupils of your school.")
    return sorted(i for i in found | set(by_ref.values()) if i is not None)


def request_contact(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, contact_in: ContactCreate
) -> Contact:
    """§5.1/§5.3: a member of staff asks, in advance, for contact with pupils on one platform."""
    if actor.staff_id is None or actor.school_id is None:
        raise Forbidden("Contact is requested by a member of staff for themselves.")
    school = visible_school(session, actor, actor.school_id)
    require_role(actor, school, Role.staff, action="request contact with pupils")
    pupil_ids = _pupils_of_school(session, school, contact_in)
    devices = session.exec(
        select(Device).where(
            col(Device.id).in_(contact_in.device_ids), Device.school_id == school.id
        )
    ).all()
    if len({d.id for d in devices}) != len(set(contact_in.device_ids)):
        raise RuleBroken("Every device must be a school-owned device registered at your school.")
    if any(not d.is_active for d in devices):
        raise RuleBroken("A device named has been retired from the register.")
    if contact_in.ends_on < policy.today(school, at):
        raise RuleBroken("The end date has already passed.")
    assert school.id is not None
    contact = Contact(
        school_id=school.id,
        staff_id=actor.staff_id,
        platform=contact_in.platform,
        platform_name=contact_in.platform_name,
        school_account=contact_in.school_account,
        purpose=contact_in.purpose,
        starts_on=contact_in.starts_on,
        ends_on=contact_in.ends_on,
        state=ContactState.requested,
        requested_at=at,
    )
    session.add(contact)
    session.flush()
    assert contact.id is not None
    born = births_now(session, pupil_ids)
    for pupil_id in pupil_ids:
        session.add(ContactPupil(contact_id=contact.id, pupil_id=pupil_id, born_on=born[pupil_id]))
    for device_id in sorted(set(contact_in.device_ids)):
        session.add(ContactDevice(contact_id=contact.id, device_id=device_id))
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=contact,
        action="contact.requested",
        details={"pupil_ids": pupil_ids, "platform": contact.platform, "ends_on": contact.ends_on},
    )
    # The decider hears at once (the scheduler emails them; a day later, a reminder).
    session.add(
        Alert(
            school_id=contact.school_id,
            kind=AlertKind.approval_requested,
            contact_id=contact.id,
            staff_id=contact.staff_id,
            created_at=at,
        )
    )
    return contact


def contact_at_school(
    session: Session, actor: Principal, contact_id: int
) -> tuple[Contact, School, Staff]:
    """The contact, its school and its owner, if it is at a school the actor may look into;
    another school's contact is simply not found. Each action then applies its own rule."""
    contact = get_scoped(session, actor, Contact, contact_id, "No such contact.")
    school = session.get(School, contact.school_id)
    owner = session.get(Staff, contact.staff_id)
    assert school is not None
    assert school.id is not None
    assert owner is not None
    return contact, school, owner


def contact_in_scope(
    session: Session,
    actor: Principal,
    contact_id: int,
    *,
    readers: tuple[Role, ...] = (Role.dsl, Role.admin),
) -> tuple[Contact, School, Staff]:
    """The contact, if the actor may read it: its owner, their manager, or one of `readers`."""
    contact, school, owner = contact_at_school(session, actor, contact_id)
    if contact.staff_id == actor.staff_id or manages(actor, owner, school):
        return contact, school, owner
    require_role(actor, school, *readers, action="see other staff's contacts")
    return contact, school, owner


def get_contact(*, session: Session, actor: Principal, contact_id: int) -> Contact:
    return contact_in_scope(session, actor, contact_id)[0]


def list_contacts(
    *,
    session: Session,
    actor: Principal,
    staff_id: int | None = None,
    state: ContactState | None = None,
    pupil_id: int | None = None,
    decided: bool | None = None,
    not_staff_id: int | None = None,
    past: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
    newest_first: bool = False,
) -> Page[Contact]:
    """Mine, my reports' (approvers), or the whole school's (DSL, admin); or those of them
    with one pupil; `decided` True for those past the request, False for those waiting;
    `not_staff_id` leaves one holder's out (an approver's own are not theirs to decide);
    `past` True for those over for good (refused or closed), False for the rest."""
    school = visible_school(session, actor, actor.school_id or 0)
    assert school.id is not None
    query = select(Contact).where(
        Contact.school_id == school.id,
        own_or_reports(actor, school, col(Contact.staff_id), readers=(Role.dsl, Role.admin)),
    )
    if staff_id is not None:
        query = query.where(Contact.staff_id == staff_id)
    if state is not None:
        query = query.where(Contact.state == state)
    if pupil_id is not None:
        with_pupil = select(ContactPupil.contact_id).where(ContactPupil.pupil_id == pupil_id)
        query = query.where(col(Contact.id).in_(with_pupil))
    if decided is not None:
        waiting = col(Contact.state) == ContactState.requested
        query = query.where(~waiting if decided else waiting)
    if not_staff_id is not None:
        query = query.where(col(Contact.staff_id) != not_staff_id)
    if past is not None:  # over for good: refused, or closed once every deletion was confirmed
        over = col(Contact.state).in_([ContactState.rejected, ContactState.closed])
        query = query.where(over if past else ~over)
    return fetch_page(
        session, query, col(Contact.id), cursor=cursor, limit=limit, newest_first=newest_first
    )


def decide(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    contact_id: int,
    decision: DecisionCreate,
) -> Contact:
    """§5.3: the written permission (or refusal) of the requester's headteacher or line manager."""
    contact, school, owner = contact_at_school(session, actor, contact_id)
    assert school.id is not None
    if contact.staff_id == actor.staff_id:
        raise Forbidden("Nobody decides their own request.")
    if not (
        actor.acts_as(Role.approver, school_id=school.id, trust_id=school.trust_id)
        and manages(actor, owner, school)
    ):
        raise Forbidden("Only the requester's line manager or headteacher may decide.")
    if contact.state != ContactState.requested:
        raise Conflict("This request has already been decided.")
    if decision.approve and contact.ends_on < policy.today(school, at):
        raise RuleBroken("The end date has already passed; the request cannot be approved.")
    verdict = decision.verdict
    once.claim(
        session,
        Contact,
        contact.id,
        still=col(Contact.state) == ContactState.requested,
        values={
            "state": ContactState(verdict),
            "verdict": verdict,
            "decided_by_id": actor.staff_id,
            "decided_at": at,
            "conditions": decision.conditions,
            "decision_note": decision.note,
            "rejection_reason": decision.reason,
        },
        too_late="This request has already been decided.",
    )
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=contact,
        action=f"contact.{verdict}",
        details={"with_conditions": decision.conditions is not None},
    )
    return contact


def end_pupils(
    session: Session,
    *,
    actor: Principal,
    at: datetime,
    contact: Contact,
    pupil_ids: Sequence[int] | None,
    reason: str,
) -> list[int]:
    """§5.6: the relationship ceases now for these pupils (all if None); each gets a deletion task.

    The one way a contact ends: by hand, by the end-date sweep, or by a withdrawn consent.
    """
    assert contact.id is not None
    # Lock the contact first: a hand and the sweep (or two sweeps) ending it at once queue up
    # here, and the later one then sees the pupils already ended.
    locked = once.took(
        session,
        Contact,
        contact.id,
        still=col(Contact.state) == ContactState.approved,
        values={"state": Contact.state},
    )
    if not locked:
        return []
    links = session.exec(
        select(ContactPupil)
        .where(ContactPupil.contact_id == contact.id, col(ContactPupil.ended_at).is_(None))
        .execution_options(populate_existing=True)
    ).all()
    if pupil_ids is not None:
        links = [link for link in links if link.pupil_id in set(pupil_ids)]
    ended, tasks = [], []
    for link in links:
        link.ended_at = at
        link.ended_by_id = actor.staff_id
        link.end_reason = reason
        session.add(link)
        task = DeletionTask(
            school_id=contact.school_id,
            contact_id=contact.id,
            pupil_id=link.pupil_id,
            staff_id=contact.staff_id,
            created_at=at,
            next_reminder_at=at,  # the first prompt goes out on the next reminder run
        )
        session.add(task)
        tasks.append(task)
        ended.append(link.pupil_id)
    session.flush()
    still_open = session.exec(
        select(ContactPupil.pupil_id).where(
            ContactPupil.contact_id == contact.id, col(ContactPupil.ended_at).is_(None)
        )
    ).first()
    if still_open is None:
        contact.state = ContactState.ended
        contact.ended_at = at
        session.add(contact)
    if ended:
        audit.record_change(
            session,
            actor=actor,
            at=at,
            of=contact,
            action="contact.ended",
            also=[("deletion_task", t.id) for t in tasks],
            details={"pupil_ids": ended},
        )
    return ended


def end_contact(
    *, session: Session, actor: Principal, at: datetime, contact_id: int, end: EndCreate
) -> Contact:
    contact, school, owner = contact_at_school(session, actor, contact_id)
    assert school.id is not None
    allowed = (
        contact.staff_id == actor.staff_id
        or manages(actor, owner, school)
        or actor.acts_as(Role.dsl, school_id=school.id, trust_id=school.trust_id)
    )
    if not allowed:
        raise Forbidden("Only the owner, their line manager or headteacher, or the DSL may end it.")
    if contact.state in (ContactState.requested, ContactState.rejected):
        raise Conflict("Only an approved contact can be ended.")
    if contact.state in (ContactState.ended, ContactState.closed):
        raise Conflict("This contact has already ended.")
    pupils = None
    if end.pupil_id is not None:
        link = session.get(ContactPupil, (contact.id, end.pupil_id))
        if link is None:
            raise NotFound("That pupil is not on this contact.")
        if link.ended_at is not None:
            raise Conflict("This contact has already ended for that pupil.")
        pupils = [end.pupil_id]
    # Checked above as the request began; a concurrent ending may still have got there first,
    # and then nothing is left to end here.
    if not end_pupils(
        session, actor=actor, at=at, contact=contact, pupil_ids=pupils, reason=end.reason
    ):
        raise Conflict("This contact has already ended" + (" for that pupil." if pupils else "."))
    return contact
