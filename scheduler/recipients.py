"""Who is told, and how an email is queued for them: the helpers every job shares."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core.directory.models import Role, School, Staff, StaffRole
from core.outbox import enqueue
from scheduler import emails


def staff_with_role(session: Session, school: School, role: Role) -> list[Staff]:
    """Active holders of a role at the school; for the DSL, the trust's DSLs when it has none."""
    query = (
        select(Staff)
        .join(StaffRole, col(StaffRole.staff_id) == col(Staff.id))
        .where(Staff.school_id == school.id, StaffRole.role == role, col(Staff.is_active))
    )
    found = list(session.exec(query.order_by(col(Staff.id))).all())
    trust_role = {Role.dsl: Role.trust_dsl, Role.admin: Role.trust_admin}.get(role)
    if not found and trust_role is not None:
        found = list(
            session.exec(
                select(Staff)
                .join(StaffRole, col(StaffRole.staff_id) == col(Staff.id))
                .join(School, col(School.id) == col(Staff.school_id))
                .where(
                    School.trust_id == school.trust_id,
                    StaffRole.role == trust_role,
                    col(Staff.is_active),
                )
                .order_by(col(Staff.id))
            ).all()
        )
    return found


def send(
    session: Session,
    key: str,
    kind: str,
    to: Staff,
    email: emails.Email,
    school_id: int | None,
    contact_id: int | None = None,
    *,
    at: datetime,
) -> bool:
    """Queue it; False if this occasion was queued for them already."""
    made = enqueue(
        session,
        dedupe_key=f"{key}:to:{to.id}",
        kind=kind,
        to_address=to.email,
        to_staff_id=to.id,
        subject=email.subject,
        body=email.body,
        school_id=school_id,
        contact_id=contact_id,
        at=at,
    )
    return made is not None


def manager_and_dsls(session: Session, school: School, staff: Staff) -> list[Staff]:
    """The member of staff's active line manager and the school's DSLs, once each."""
    people = {s.id: s for s in staff_with_role(session, school, Role.dsl)}
    manager = session.get(Staff, staff.line_manager_id) if staff.line_manager_id else None
    if manager is not None and manager.is_active:
        people[manager.id] = manager
    return list(people.values())
