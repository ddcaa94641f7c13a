"""§5.6 after the end: the owner confirms the contact method was deleted, and who sees which
deletions are still owed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from contacts.models import Contact, ContactState, DeletionCreate, DeletionTask
from contacts.service import contact_at_school
from core import once
from core.directory.access import own_or_reports, visible_school
from core.errors import Conflict, Forbidden, RuleBroken
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit, seals


def confirm_deletion(
    *, session: Session, actor: Principal, at: datetime, contact_id: int, deletion: DeletionCreate
) -> Contact:
    """§5.6: the owner confirms the contact method is deleted; the record itself is kept."""
    contact, _, _ = contact_at_school(session, actor, contact_id)
    if contact.staff_id != actor.staff_id:
        raise Forbidden("Only the member of staff who holds the contact confirms its deletion.")
    query = select(DeletionTask).where(
        DeletionTask.contact_id == contact.id, col(DeletionTask.confirmed_at).is_(None)
    )
    if deletion.pupil_id is not None:
        query = query.where(DeletionTask.pupil_id == deletion.pupil_id)
    tasks = list(session.exec(query.order_by(col(DeletionTask.id))).all())
    if not tasks:
        raise Conflict("There is no open deletion task on this contact.")
    deleted_at = deletion.deleted_at or at
    if deleted_at > at:
        raise RuleBroken("deleted_at is in the future.")
    # The method cannot have been deleted for a pupil before that pupil's part had ended (each
    # task is created at that moment).
    if deleted_at < max(t.created_at for t in tasks):
        raise RuleBroken("deleted_at is before the contact ended for that pupil.")
    for task in tasks:
        once.claim(
            session,
            DeletionTask,
            task.id,
            still=col(DeletionTask.confirmed_at).is_(None),
            values={"confirmed_at": at, "deleted_at": deleted_at, "how": deletion.how},
            too_late="This deletion has already been confirmed.",
        )
    remaining = session.exec(
        select(DeletionTask.id).where(
            DeletionTask.contact_id == contact.id, col(DeletionTask.confirmed_at).is_(None)
        )
    ).first()
    if remaining is None and contact.state == ContactState.ended:
        contact.state = ContactState.closed
        contact.closed_at = at
        session.add(contact)
    audit.record(
        session,
        actor=actor,
        at=at,
        action="deletion.confirmed",
        object_type="contact",
        object_id=contact.id,
        school_id=contact.school_id,
        details={"pupil_ids": [t.pupil_id for t in tasks]},
        sealed=seals.seal(
            session, ("contact", contact.id), *(("deletion_task", t.id) for t in tasks)
        ),
    )
    return contact


def list_deletion_tasks(
    *,
    session: Session,
    actor: Principal,
    open_only: bool = True,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[DeletionTask]:
    """Mine (staff), my reports' (approvers), the school's (DSL), oldest — most overdue — first."""
    school = visible_school(session, actor, actor.school_id or 0)
    assert school.id is not None
    query = select(DeletionTask).where(
        DeletionTask.school_id == school.id,
        own_or_reports(actor, school, col(DeletionTask.staff_id)),
    )
    if open_only:
        query = query.where(col(DeletionTask.confirmed_at).is_(None))
    # Ids grow with creation time, so id order is oldest first: the most overdue lead.
    return fetch_page(session, query, col(DeletionTask.id), cursor=cursor, limit=limit)
