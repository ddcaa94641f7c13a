"""Pupils and their guardians: only what the protocol's rules need, seen by admins and DSLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit
from core.clock import now, school_date
from core.directory.access import (
    apply_changes,
    require_role,
    school_zone,
    target_school,
    visible_school,
)
from core.directory.models import (
    Guardian,
    GuardianCreate,
    Pupil,
    PupilCreate,
    PupilUpdate,
    Role,
    School,
)
from core.errors import Conflict, InvalidInput, NotFound
from core.pagination import Page, after_id, page_by_id
from core.principal import Principal

DUPLICATE_REFERENCE = "A pupil with this school reference already exists at the school."


def check_date_of_birth(pupil: PupilCreate | PupilUpdate, school: School) -> None:
    born = pupil.date_of_birth
    if born is not None and born > school_date(now(), school_zone(school)):
        raise InvalidInput(
            "The date of birth is in the future.",
            extra={"errors": [{"field": "date_of_birth", "message": "must not be in the future"}]},
        )


def create_pupil(*, session: Session, actor: Principal, pupil_in: PupilCreate) -> Pupil:
    school = target_school(session, actor, pupil_in.school_id)
    require_role(actor, school, Role.admin, action="add pupils")
    check_date_of_birth(pupil_in, school)
    assert school.id is not None
    pupil = Pupil(school_id=school.id, **pupil_in.model_dump(exclude={"school_id"}))
    try:
        with session.begin_nested():
            session.add(pupil)
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_REFERENCE) from exc
    _record(session, actor, "pupil.created", pupil)
    return pupil


def _record(session: Session, actor: Principal, action: str, pupil: Pupil, **details: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="pupil",
        object_id=pupil.id,
        school_id=pupil.school_id,
        details=details,
    )


def pupil_in_scope(
    session: Session, actor: Principal, pupil_id: int, *, action: str, write: bool = False
) -> tuple[Pupil, School]:
    """The pupil, if the actor may read (admin, DSL) or, with `write`, change (admin) the record."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise NotFound("No such pupil.")
    try:
        school = visible_school(session, actor, pupil.school_id)
    except NotFound:
        raise NotFound("No such pupil.") from None
    roles = (Role.admin,) if write else (Role.admin, Role.dsl)
    require_role(actor, school, *roles, action=action)
    return pupil, school


def get_pupil(*, session: Session, actor: Principal, pupil_id: int) -> Pupil:
    return pupil_in_scope(session, actor, pupil_id, action="read pupil records")[0]


def list_pupils(
    *,
    session: Session,
    actor: Principal,
    school_id: int | None = None,
    school_reference: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Pupil]:
    school = visible_school(session, actor, school_id or actor.school_id or 0)
    require_role(actor, school, Role.admin, Role.dsl, action="read pupil records")
    query = select(Pupil).where(Pupil.school_id == school.id)
    if school_reference:
        query = query.where(Pupil.school_reference == school_reference)
    return page_by_id(session.exec(after_id(query, col(Pupil.id), cursor, limit)).all(), limit)


def update_pupil(
    *, session: Session, actor: Principal, pupil_id: int, changes: PupilUpdate
) -> Pupil:
    pupil, school = pupil_in_scope(
        session, actor, pupil_id, action="change pupil records", write=True
    )
    check_date_of_birth(changes, school)
    apply_changes(pupil, changes.model_dump(exclude_unset=True))
    try:
        with session.begin_nested():
            session.add(pupil)
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_REFERENCE) from exc
    _record(session, actor, "pupil.updated", pupil, fields=sorted(changes.model_fields_set))
    return pupil


def add_guardian(
    *, session: Session, actor: Principal, pupil_id: int, guardian_in: GuardianCreate
) -> Guardian:
    pupil, _ = pupil_in_scope(session, actor, pupil_id, action="record guardians", write=True)
    guardian = Guardian(pupil_id=pupil_id, **guardian_in.model_dump())
    session.add(guardian)
    session.flush()
    _record(session, actor, "guardian.added", pupil, guardian_id=guardian.id)
    return guardian


def list_guardians(*, session: Session, actor: Principal, pupil_id: int) -> list[Guardian]:
    pupil_in_scope(session, actor, pupil_id, action="read guardians")
    return list(
        session.exec(
            select(Guardian).where(Guardian.pupil_id == pupil_id).order_by(col(Guardian.id))
        ).all()
    )
