"""Pupils and their guardians: only what the protocol's rules need, seen by admins and DSLs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.directory import privileged
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
    PendingChange,
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
from core.record import audit
from core.settings import Settings

DUPLICATE_REFERENCE = "A pupil with this school reference already exists at the school."


def check_date_of_birth(pupil: PupilCreate | PupilUpdate, today: date) -> None:
    born = pupil.date_of_birth
    if born is not None and born > today:
        raise InvalidInput(
            "The date of birth is in the future.",
            extra={"errors": [{"field": "date_of_birth", "message": "must not be in the future"}]},
        )


def births_now(session: Session, pupil_ids: Iterable[int]) -> dict[int, date]:
    """Each pupil's date of birth as it stands: what a new record about them keeps."""
    ids = sorted(set(pupil_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(col(Pupil.id), col(Pupil.date_of_birth)).where(col(Pupil.id).in_(ids))
    ).all()
    return {pupil_id: born for pupil_id, born in rows if pupil_id is not None}


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
    audit.record_change(session, actor=actor, at=at, of=pupil, action="pupil.created", details={})
    return pupil


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


# Columns that name a pupil in a record about them (registered by the floors above: a contact's
# pupils, a message's, an incident's, a consent's): a pupil with any such row has records whose
# periods and rules count from their dates.
RECORD_LINKS: list[Any] = []


def records_name(column: Any) -> None:
    RECORD_LINKS.append(column)


def has_records(session: Session, pupil_id: int) -> bool:
    return any(
        session.exec(select(column).where(column == pupil_id).limit(1)).first() is not None
        for column in RECORD_LINKS
    )


# The dates that wait for a second person once records exist.
WAITING_DATES = ("date_of_birth", "left_on")


@dataclass(frozen=True)
class PupilChanged:
    pupil: Pupil
    # The change of dates waiting for a second person, if any (the rest is applied).
    waiting: PendingChange | None = None


def update_pupil(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    settings: Settings,
    at: datetime,
    pupil_id: int,
    changes: PupilUpdate,
) -> PupilChanged:
    """Change a pupil's record. Once records about the pupil exist, a new date of birth or
    leaving date is proposed instead, for a second person to confirm."""
    pupil, school = pupil_in_scope(
        session, actor, pupil_id, action="change pupil records", write=True
    )
    check_date_of_birth(changes, policy.today(school, at))
    asked = changes.model_dump(exclude_unset=True)
    dated = {k: asked[k] for k in WAITING_DATES if k in asked and asked[k] != getattr(pupil, k)}
    waiting = None
    if dated and pupil.id is not None and has_records(session, pupil.id):
        for name in dated:
            del asked[name]
        born, left = dated.get("date_of_birth"), dated.get("left_on", pupil.left_on)
        if left is not None and left < (born or pupil.date_of_birth):
            raise InvalidInput(
                "The leaving date is before the date of birth.",
                extra={"errors": [{"field": "left_on", "message": "before the date of birth"}]},
            )
        waiting = privileged.propose_pupil_dates(
            session,
            actor=actor,
            pupil=pupil,
            school=school,
            date_of_birth=born,
            left_on=dated.get("left_on"),
            changes_left_on="left_on" in dated,
            settings=settings,
            at=at,
        )
    apply_changes(pupil, asked, clearable=frozenset({"left_on"}))
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
    applied = sorted(set(asked))
    if applied or waiting is None:
        audit.record_change(
            session,
            actor=actor,
            at=at,
            of=pupil,
            action="pupil.updated",
            details={"fields": applied},
        )
    return PupilChanged(pupil, waiting)


def add_guardian(
    *, session: Session, actor: Principal, at: datetime, pupil_id: int, guardian_in: GuardianCreate
) -> Guardian:
    pupil, _ = pupil_in_scope(session, actor, pupil_id, action="record guardians", write=True)
    guardian = Guardian(pupil_id=pupil_id, created_at=at, **guardian_in.model_dump())
    session.add(guardian)
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=pupil,
        action="guardian.added",
        also=[("guardian", guardian.id)],
        details={"guardian_id": guardian.id},
    )
    return guardian


def list_guardians(*, session: Session, actor: Principal, pupil_id: int) -> list[Guardian]:
    pupil_in_scope(session, actor, pupil_id, action="read guardians")
    return list(
        session.exec(
            select(Guardian).where(Guardian.pupil_id == pupil_id).order_by(col(Guardian.id))
        ).all()
    )
