"""Who may see and change which part of the directory: school scope first, then role."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import Session, SQLModel, select

from core.directory.models import TRUST_ROLES, Role, School, Staff
from core.errors import Forbidden, InvalidInput, NotFound
from core.principal import Principal


def visible_school(session: Session, actor: Principal, school_id: int) -> School:
    """The school, if the actor may look into it; another school is simply not found."""
    school = session.get(School, school_id)
    if school is None or school.id is None:
        raise NotFound("No such school.")
    if not actor.sees_school(school_id=school.id, trust_id=school.trust_id):
        raise NotFound("No such school.")
    return school


class AtSchool(Protocol):
    school_id: int


Scoped = TypeVar("Scoped", bound=AtSchool)


def get_scoped(
    session: Session, actor: Principal, model: type[Scoped], record_id: int, missing: str
) -> Scoped:
    """The record, if it belongs to a school the actor may look into. Another school's record
    is answered exactly as a record that does not exist: `missing`, 404."""
    record = session.get(model, record_id)
    if record is None:
        raise NotFound(missing)
    school = session.get(School, record.school_id)
    if school is None or school.id is None:
        raise NotFound(missing)
    if not actor.sees_school(school_id=school.id, trust_id=school.trust_id):
        raise NotFound(missing)
    return record


def schools_read_by(actor: Principal, own: School) -> Any:
    """The ids of the schools whose records a reader at `own` lists: their own school, or every
    school of the trust for someone holding a trust role."""
    if actor.roles & TRUST_ROLES:
        return select(School.id).where(School.trust_id == own.trust_id)
    return select(School.id).where(School.id == own.id)


def require_role(actor: Principal, school: School, *roles: Role, action: str) -> None:
    """Forbidden unless the actor holds one of `roles` for this school."""
    assert school.id is not None
    if not any(actor.acts_as(r, school_id=school.id, trust_id=school.trust_id) for r in roles):
        names = " or ".join(r.value for r in roles)
        raise Forbidden(f"Only {names} may {action}.")


def target_school(session: Session, actor: Principal, requested: int | None) -> School:
    """The school a new record goes into: the actor's own unless a trust role names another."""
    if requested is None:
        if actor.school_id is None:
            raise Forbidden("Name the school: the command line has no school of its own.")
        return visible_school(session, actor, actor.school_id)
    school = visible_school(session, actor, requested)
    if school.id != actor.school_id and not (actor.operator or actor.has(Role.trust_admin)):
        raise Forbidden("Only trust_admin may add records to another school.")
    return school


def apply_changes(
    record: SQLModel, values: dict[str, Any], *, clearable: frozenset[str] = frozenset()
) -> None:
    """Copy the fields a PATCH body set onto the record; only `clearable` ones may be null."""
    for name, value in values.items():
        if value is None and name not in clearable:
            raise InvalidInput(
                f"{name} cannot be cleared.",
                extra={"errors": [{"field": name, "message": "must not be null"}]},
            )
        setattr(record, name, value)


def own_or_reports(
    actor: Principal, school: School, staff_column: Any, *, readers: tuple[Role, ...] = (Role.dsl,)
) -> ColumnElement[bool]:
    """The records one may list at a school: all of them for its headteacher and `readers`;
    otherwise those held by the actor or by staff they line-manage."""
    assert school.id is not None
    if (actor.is_headteacher and actor.school_id == school.id) or any(
        actor.acts_as(r, school_id=school.id, trust_id=school.trust_id) for r in readers
    ):
        return true()
    reports = select(Staff.id).where(Staff.line_manager_id == actor.staff_id)
    return or_(staff_column == actor.staff_id, staff_column.in_(reports))
