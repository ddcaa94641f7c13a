"""Who reads a concern about an adult: the one rule, in SQL, that every list, count, page, email
and export of concerns goes through. Never its subject, whatever their roles; about the
headteacher, the case manager (chair of governors or the trust's named person) instead of the
school's headteacher and DSLs; a trust DSL for every school of the trust."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, and_, exists, false, not_, or_
from sqlmodel import Session, col, select

from contacts.concerns.models import Concern
from core.directory.models import Role, School, Staff, StaffRole
from core.errors import NotFound
from core.principal import Principal

NO_SUCH_CONCERN = "No such concern."


def _holds(staff_id: int, role: Role) -> ColumnElement[bool]:
    return exists().where(col(StaffRole.staff_id) == staff_id, col(StaffRole.role) == role)


def _may_read(
    staff_id: int | None, *, subject_id: Any, school_id: Any, about_head: Any
) -> ColumnElement[bool]:
    """Whether account `staff_id` reads what is about `subject_id` (a staff id, or null for
    someone without an account) at `school_id`: columns of a concern, or literals."""
    if staff_id is None:
        return false()
    reader_school = select(col(Staff.school_id)).where(col(Staff.id) == staff_id)
    reader_trust = (
        select(col(School.trust_id))
        .join(Staff, col(Staff.school_id) == col(School.id))
        .where(col(Staff.id) == staff_id)
        .scalar_subquery()
    )
    trust_of = select(col(School.trust_id)).where(col(School.id) == school_id).scalar_subquery()
    is_head = exists().where(col(Staff.id) == staff_id, col(Staff.is_headteacher))
    at_their_school = school_id == reader_school.scalar_subquery()
    return and_(
        or_(subject_id.is_(None), subject_id != staff_id),
        or_(
            and_(_holds(staff_id, Role.trust_dsl), trust_of == reader_trust),
            and_(
                at_their_school,
                not_(about_head),
                or_(is_head, _holds(staff_id, Role.dsl)),
            ),
            and_(at_their_school, about_head, _holds(staff_id, Role.case_manager)),
        ),
    )


def readable_by(staff_id: int | None) -> ColumnElement[bool]:
    """The concerns this account reads (a condition over the concern table)."""
    return _may_read(
        staff_id,
        subject_id=col(Concern.subject_staff_id),
        school_id=col(Concern.school_id),
        about_head=col(Concern.about_headteacher),
    )


def hidden_from(staff_id: int) -> Any:
    """The ids of the concerns this account never sees, counts or is told of: about them, or
    not theirs to read (core/about.py leaves their events out of the change record)."""
    return select(col(Concern.id)).where(not_(readable_by(staff_id)))


def patterns_hidden_from(staff_id: int) -> Any:
    """The staff whose pattern this account may not read (themselves above all): the reads of
    those patterns are left out of its change record, as the concerns are."""
    return select(col(Staff.id)).where(
        not_(
            _may_read(
                staff_id,
                subject_id=col(Staff.id),
                school_id=col(Staff.school_id),
                about_head=col(Staff.is_headteacher),
            )
        )
    )


def reads(session: Session, actor: Principal, concern_id: int) -> bool:
    return actor.staff_id is not None and reads_id(session, actor.staff_id, concern_id)


def get_readable(session: Session, actor: Principal, concern_id: int) -> Concern:
    """The concern, for one of its readers; for anyone else it does not exist (404): its
    subject, the raiser and everyone else cannot tell it from a concern never raised."""
    concern = session.get(Concern, concern_id)
    if concern is None or not reads(session, actor, concern_id):
        raise NotFound(NO_SUCH_CONCERN)
    return concern


def handlers(session: Session, school_id: int) -> list[Staff]:
    """The active accounts of the school's trust who could handle a concern at all (the
    headteachers, DSLs, trust DSLs and case managers): whom the rule is then asked about."""
    trust = select(col(School.trust_id)).where(col(School.id) == school_id)
    return list(
        session.exec(
            select(Staff)
            .join(School, col(School.id) == col(Staff.school_id))
            .where(col(School.trust_id) == trust.scalar_subquery(), col(Staff.is_active))
            .where(
                or_(
                    col(Staff.is_headteacher),
                    col(Staff.id).in_(
                        select(col(StaffRole.staff_id)).where(
                            col(StaffRole.role).in_([Role.dsl, Role.trust_dsl, Role.case_manager])
                        )
                    ),
                )
            )
            .order_by(col(Staff.id))
        ).all()
    )


def readers_of(session: Session, concern: Concern) -> list[Staff]:
    """The active accounts that read this concern: whom its emails go to."""
    assert concern.id is not None
    return [
        s
        for s in handlers(session, concern.school_id)
        if s.id is not None and reads_id(session, s.id, concern.id)
    ]


def reads_id(session: Session, staff_id: int, concern_id: int) -> bool:
    found = session.exec(
        select(col(Concern.id)).where(col(Concern.id) == concern_id, readable_by(staff_id))
    ).first()
    return found is not None


def sees_pattern_of(session: Session, actor: Principal, subject: Staff) -> bool:
    """Whether the actor reads a member of staff's pattern: exactly those who would read a
    concern about them (never the person themselves)."""
    condition = _may_read(
        actor.staff_id,
        subject_id=sa.literal(subject.id),
        school_id=sa.literal(subject.school_id),
        about_head=sa.literal(subject.is_headteacher),
    )
    return bool(session.exec(select(condition)).one())
