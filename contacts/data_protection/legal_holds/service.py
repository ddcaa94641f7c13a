"""Placing, listing and releasing legal holds: DSLs only, each in the change record; released
holds are kept, and several may cover one record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from contacts.data_protection.legal_holds.models import (
    HeldSubject,
    HoldCreate,
    HoldPublic,
    LegalHold,
    ReleaseCreate,
)
from contacts.incidents.models import Incident
from contacts.models import Contact
from core import about, once
from core.directory.access import get_scoped, require_role, schools_read_by, visible_school
from core.directory.models import Pupil, Role, Staff, Trust
from core.errors import Forbidden, NotFound
from core.pagination import Page, fetch_page
from core.principal import Principal
from core.record import audit

SUBJECTS: dict[HeldSubject, tuple[type[SQLModel], str]] = {
    HeldSubject.pupil: (Pupil, "No such pupil."),
    HeldSubject.staff: (Staff, "No such member of staff."),
    HeldSubject.contact: (Contact, "No such contact."),
    HeldSubject.incident: (Incident, "No such incident."),
}


NO_SUCH_HOLD = "No such legal hold."


def me(actor: Principal) -> int:
    """The reader's own account (0 for none: no record is about nobody)."""
    return actor.staff_id or 0


def public(hold: LegalHold) -> HoldPublic:
    return HoldPublic.model_validate({**hold.model_dump(), "active": hold.released_at is None})


def serialise_with_retention(session: Session, trust_id: int) -> None:
    """Holds and retention runs of one trust take turns: a hold placed while retention runs
    waits for it, and a run sees every hold placed before it (SQLite writes one at a time)."""
    session.exec(select(Trust.id).where(Trust.id == trust_id).with_for_update()).one()


def place_hold(
    *, session: Session, actor: Principal, at: datetime, hold_in: HoldCreate
) -> LegalHold:
    """A DSL of the subject's school (or a trust DSL) holds it for an investigation."""
    model, missing = SUBJECTS[hold_in.subject_type]
    subject: Any = get_scoped(session, actor, model, hold_in.subject_id, missing)  # type: ignore[type-var]
    school = visible_school(session, actor, subject.school_id)
    require_role(actor, school, Role.dsl, action="place a legal hold")
    assert school.id is not None
    serialise_with_retention(session, school.trust_id)
    hold = LegalHold(
        school_id=school.id,
        subject_type=hold_in.subject_type,
        subject_id=hold_in.subject_id,
        case_reference=hold_in.case_reference,
        reason=hold_in.reason,
        placed_by_id=actor.staff_id,
        placed_at=at,
    )
    session.add(hold)
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=hold,
        action="legal_hold.placed",
    )
    return hold


def list_holds(
    *,
    session: Session,
    actor: Principal,
    active_only: bool,
    cursor: str | None,
    limit: int,
) -> Page[HoldPublic]:
    """The school's holds for its DSL; every school's of the trust for a trust DSL."""
    own = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, own, Role.dsl, action="read legal holds")
    query = select(LegalHold)
    query = query.where(col(LegalHold.school_id).in_(schools_read_by(actor, own)))
    query = query.where(col(LegalHold.id).not_in(about.KINDS["legal_hold"].ids_about(me(actor))))
    if active_only:
        query = query.where(col(LegalHold.released_at).is_(None))
    page = fetch_page(session, query, col(LegalHold.id), cursor=cursor, limit=limit)
    return Page(items=[public(h) for h in page.items], next_cursor=page.next_cursor)


def release_hold(
    *, session: Session, actor: Principal, at: datetime, hold_id: int, release: ReleaseCreate
) -> LegalHold:
    """The investigation is over: the hold stays on the record, released; others may remain."""
    hold = get_scoped(session, actor, LegalHold, hold_id, NO_SUCH_HOLD)
    if hold.id in about.hidden_ids(session, "legal_hold", actor.staff_id):
        raise NotFound(NO_SUCH_HOLD)  # its subject is not even told it exists
    school = visible_school(session, actor, hold.school_id)
    require_role(actor, school, Role.dsl, action="release a legal hold")
    if hold.placed_by_id != actor.staff_id and not actor.has(Role.trust_dsl):
        raise Forbidden("A hold is released by the one who placed it, or by a trust DSL.")
    once.claim(
        session,
        LegalHold,
        hold.id,
        still=col(LegalHold.released_at).is_(None),
        values={
            "released_at": at,
            "released_by_id": actor.staff_id,
            "release_reason": release.reason,
        },
        too_late="This hold has already been released.",
    )
    session.refresh(hold)
    audit.record_change(
        session,
        actor=actor,
        at=at,
        of=hold,
        action="legal_hold.released",
    )
    return hold
