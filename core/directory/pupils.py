"""Pupils and their guardians: only what the protocol's rules need, seen by admins and DSLs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit, seals
from core.directory.access import (
    apply_changes,
    get_scoped,
    require_role,
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
from core.errors import Conflict, InvalidInput
from core.pagination import Page, fetch_page
from core.policy import Policy
from core.principal import Principal

DUPLICATE_REFERENCE = "A pupil with this school reference already exists at the school."


def check_date_of_birth(pupil: PupilCreate | PupilUpdate, today: date) -> None:
    born = pupil.date_of_birth
    if born is not None and born > today:
        raise InvalidInput(
            "The date of birth is in the future.",
            extra={"errors": [{"field": "date_of_birth", "message": "must not be in the future"}]},
        )


def create_pupil(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, pupil_in: PupilCreate
) -> Pupil:
    school = target_school(session, actor, pupil_in.school_id)
    require_role(actor, school, Role.admin, action="add pupils")
    check_date_of_birth(pupil_in, policy.today(school, at))
    assert school.id is not None
    pupil = Pupil(school_id=school.id, created_at=at, **pupil_in.model_dump(exclude={"school_id"}))
    try:
        with session.begin_nested():
            session.add(pupil)
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_REFERENCE) from exc
    _record(session, actor, at, "pupil.created", pupil)
    return pupil


def _record(
    session: Session,
    actor: Principal,
    at: datetime,
    action: str,
    pupil: Pupil,
    *sealed: tuple[str, int | None],
    **details: Any,
) -> None:
    audit.record(
        session,
        actor=actor,
        at=at,
        action=action,
        object_type="pupil",
        object_id=pupil.id,
        school_id=pupil.school_id,
        details=details,
        sealed=seals.seal(session, ("pupil", pupil.id), *sealed),
    )


def pupil_in_scope(
    session: Session, actor: Principal, pupil_id: int, *, action: str, write: bool = False
) -> tuple[Pupil, School]:
    """The pupil, if the actor may read (admin, DSL) or, with `write`, change (admin) the record."""
    pupil = get_scoped(session, actor, Pupil, pupil_id, "No such pupil.")
    school = visible_school(session, actor, pupil.school_id)
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
    return fetch_page(session, query, col(Pupil.id), cursor=cursor, limit=limit)


def update_pupil(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    pupil_id: int,
    changes: PupilUpdate,
) -> Pupil:
    pupil, school = pupil_in_scope(
        session, actor, pupil_id, action="change pupil records", write=True
    )
    check_date_of_birth(changes, policy.today(school, at))
    apply_changes(pupil, changes.model_dump(exclude_unset=True), clearable=frozenset({"left_on"}))
    if pupil.left_on is not None and pupil.left_on < pupil.date_of_birth:
        raise InvalidInput(
            "The leaving date is before the date of birth.",
            extra={"errors": [{"field": "left_on", "message": "before the date of birth"}]},
        )
    try:
        with session.begin_nested():
            session.add(pupil)
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_REFERENCE) from exc
    _record(session, actor, at, "pupil.updated", pupil, fields=sorted(changes.model_fields_set))
    return pupil


def add_guardian(
    *, session: Session, actor: Principal, at: datetime, pupil_id: int, guardian_in: GuardianCreate
) -> Guardian:
    pupil, _ = pupil_in_scope(session, actor, pupil_id, action="record guardians", write=True)
    guardian = Guardian(pupil_id=pupil_id, created_at=at, **guardian_in.model_dump())
    session.add(guardian)
    session.flush()
    _record(
        session,
        actor,
        at,
        "guardian.added",
        pupil,
        ("guardian", guardian.id),
        guardian_id=guardian.id,
    )
    return guardian


def list_guardians(*, session: Session, actor: Principal, pupil_id: int) -> list[Guardian]:
    pupil_in_scope(session, actor, pupil_id, action="read guardians")
    return list(
        session.exec(
            select(Guardian).where(Guardian.pupil_id == pupil_id).order_by(col(Guardian.id))
        ).all()
    )
