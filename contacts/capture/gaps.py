"""What the platform captured against what was logged, for the people who act on it: the staff
member (their contacts' messages missing from their log, each logged with one tap) and the DSL
(per contact and per member of staff: captured, logged, the gaps, the breaches)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from contacts.capture import reconcile
from contacts.capture.models import CapturedMessage, CapturedPupil, CaptureUpload, Finding
from contacts.models import Contact, Direction, Message
from contacts.service import contact_in_scope
from core.directory.access import get_scoped, visible_school
from core.directory.models import Role, School, Staff
from core.directory.staff import manages
from core.errors import Forbidden
from core.policy import Policy
from core.principal import Principal
from core.record import audit


class CapturedPublic(BaseModel):
    id: int
    upload_id: int
    platform: str
    school_account: str
    direction: Direction
    sent_at: datetime
    pupil_ids: list[int]
    contact_id: int | None
    finding: Finding
    flags: list[str]
    # Names in it no one has said who they are (shown to the DSL only).
    unknown: str | None
    matched_message_id: int | None
    flagged_message_id: int | None
    # What was said, for the staff member who took part and the DSL; None for anyone else.
    content: str | None
    attachment: str | None
    deleted: bool
    edited: bool
    # Until when the staff member may log it before it becomes a flagged entry.
    log_by: datetime | None


class Reconciliation(BaseModel):
    contact_id: int
    captured: int
    logged: int  # entries on the contact within the captured period
    covered: int  # captured messages a logged entry covers
    not_logged: list[CapturedPublic]
    breaches: list[CapturedPublic]
    unknown_participants: list[CapturedPublic]
    # Logged entries in the captured period with no captured message: advice, not a finding
    # (an export may have been made before the entry, or of another phone).
    not_seen: list[int]
    first_captured: datetime | None
    last_captured: datetime | None


def _read(
    session: Session,
    actor: Principal,
    at: datetime,
    what: tuple[str, int | None],
    school_id: int | None,
    details: dict[str, bool],
) -> None:
    """A read of captured messages, on the record: whose, and whether their words were shown."""
    audit.record(
        session,
        actor=actor,
        at=at,
        action="access.captured",
        object_type=what[0],
        object_id=what[1],
        school_id=school_id,
        details=details,
    )


def reconciliation(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, contact_id: int
) -> Reconciliation:
    """One contact's captured messages against its log: the contact's holder, their manager or
    the school's DSL may read it; what was said only the holder and the DSL. Anyone's read but
    the holder's is on the record."""
    contact, school, _ = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    words = contact.staff_id == actor.staff_id or _is_dsl(actor, school)
    if contact.staff_id != actor.staff_id:
        _read(session, actor, at, ("contact", contact_id), contact.school_id, {"words": words})
    captured = session.exec(
        select(CapturedMessage)
        .where(CapturedMessage.contact_id == contact_id)
        .order_by(col(CapturedMessage.sent_at), col(CapturedMessage.id))
    ).all()
    views = _views(
        session,
        list(captured),
        policy=policy,
        school=school,
        words=words,
        dsl=_is_dsl(actor, school),
    )
    first = captured[0].sent_at if captured else None
    last = captured[-1].sent_at if captured else None
    entries: list[int] = []
    if first is not None and last is not None:
        entries = [
            e
            for e in session.exec(
                select(Message.id).where(
                    Message.contact_id == contact_id,
                    col(Message.occurred_at) >= first,
                    col(Message.occurred_at) <= last,
                )
            ).all()
            if e is not None
        ]
    # Entries that cover a capture, or were made from one nobody logged.
    matched = {c.matched_message_id for c in captured} | {c.flagged_message_id for c in captured}
    return Reconciliation(
        contact_id=contact_id,
        captured=len(captured),
        logged=len(entries),
        covered=sum(1 for c in captured if c.matched_message_id is not None),
        not_logged=[v for v in views if v.finding == Finding.not_logged],
        breaches=[v for v in views if v.finding == Finding.outside_contact],
        unknown_participants=[v for v in views if v.finding == Finding.unknown_participant],
        not_seen=sorted(e for e in entries if e not in matched),
        first_captured=first,
        last_captured=last,
    )


def _is_dsl(actor: Principal, school: School) -> bool:
    assert school.id is not None
    return actor.acts_as(Role.dsl, school_id=school.id, trust_id=school.trust_id)


def _views(
    session: Session,
    captured: list[CapturedMessage],
    *,
    policy: Policy,
    school: School,
    words: bool,
    dsl: bool,
) -> list[CapturedPublic]:
    ids = [c.id for c in captured if c.id is not None]
    pupils: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for row in session.exec(
            select(CapturedPupil).where(
                col(CapturedPupil.captured_id).in_(ids[start : start + 500])
            )
        ).all():
            pupils[row.captured_id].append(row.pupil_id)
    uploaded = _uploaded_at(session, {c.upload_id for c in captured})
    return [
        CapturedPublic(
            **{
                k: v
                for k, v in c.model_dump().items()
                if k in CapturedPublic.model_fields and k not in ("content", "unknown", "flags")
            },
            pupil_ids=sorted(pupils[c.id or 0]),
            flags=[f for f in c.flags.split(",") if f],
            unknown=(c.unknown or None) if dsl else None,
            content=c.content if words else None,
            log_by=log_by(uploaded[c.upload_id], policy=policy, school=school)
            if c.finding == Finding.not_logged
            else None,
        )
        for c in captured
    ]


def _uploaded_at(session: Session, upload_ids: set[int]) -> dict[int, datetime]:
    if not upload_ids:
        return {}
    return {
        u.id: u.uploaded_at
        for u in session.exec(
            select(CaptureUpload).where(col(CaptureUpload.id).in_(upload_ids))
        ).all()
        if u.id is not None
    }


def log_by(uploaded_at: datetime, *, policy: Policy, school: School) -> datetime:
    """The end of the school day `capture_log_school_days` school days after the upload."""
    zone = policy.zone(school)
    day = reconcile.school_days_after(
        uploaded_at.astimezone(zone).date(), policy.capture_log_school_days
    )
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def missing_counts(session: Session, *, contact_ids: list[int]) -> dict[int, int]:
    """How many captured messages each contact's log is missing (for My contacts): not logged,
    breaches and those with someone unnamed alike, until an entry covers them or one is made."""
    if not contact_ids:
        return {}
    rows = session.exec(
        select(CapturedMessage.contact_id, func.count())
        .where(
            col(CapturedMessage.contact_id).in_(contact_ids),
            col(CapturedMessage.matched_message_id).is_(None),
            col(CapturedMessage.flagged_message_id).is_(None),
        )
        .group_by(col(CapturedMessage.contact_id))
    ).all()
    return {cid: n for cid, n in rows if cid is not None}


def unplaced(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, limit: int = 200
) -> list[CapturedPublic]:
    """What the platform captured on a school account that no contact of the school covers at
    all (an account used with no permission asked): the school's DSL's to read, on the record."""
    if actor.school_id is None:
        raise Forbidden("Captured messages belong to a school.")
    school = visible_school(session, actor, actor.school_id)
    if not _is_dsl(actor, school):
        raise Forbidden("Only a DSL may read what was captured outside any contact.")
    _read(session, actor, at, ("school", school.id), school.id, {"words": True, "unplaced": True})
    found = session.exec(
        select(CapturedMessage)
        .where(
            CapturedMessage.school_id == school.id,
            col(CapturedMessage.contact_id).is_(None),
        )
        .order_by(col(CapturedMessage.sent_at).desc(), col(CapturedMessage.id).desc())
        .limit(limit)
    ).all()
    return _views(session, list(found), policy=policy, school=school, words=True, dsl=True)


class ContactGaps(BaseModel):
    """One contact of a member of staff: what was captured on it, what was logged, the gaps."""

    contact_id: int
    platform: str
    school_account: str
    captured: int
    covered: int
    not_logged: int
    breaches: int
    unknown_participants: int
    flagged: int  # captured messages that became flagged entries, left unlogged too long
    logged: int  # entries on the contact


def staff_gaps(
    *, session: Session, actor: Principal, at: datetime, staff_id: int
) -> list[ContactGaps]:
    """Per contact a member of staff holds: captured, logged and the gaps, for the DSL and
    their line manager (never of themselves); the read is on the record."""
    staff = get_scoped(session, actor, Staff, staff_id, "No such member of staff.")
    school = visible_school(session, actor, staff.school_id)
    if staff_id == actor.staff_id or not (manages(actor, staff, school) or _is_dsl(actor, school)):
        raise Forbidden("Only the DSL or their line manager reads a colleague's gaps.")
    _read(session, actor, at, ("staff", staff_id), staff.school_id, {"words": False})
    contacts = session.exec(
        select(Contact).where(Contact.staff_id == staff_id).order_by(col(Contact.id))
    ).all()
    ids = [c.id for c in contacts if c.id is not None]
    if not ids:
        return []

    def counted(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = {
        r[0]: r
        for r in session.execute(
            sa.select(
                col(CapturedMessage.contact_id),
                func.count(),
                counted(col(CapturedMessage.matched_message_id).is_not(None)),
                counted(CapturedMessage.finding == Finding.not_logged),
                counted(CapturedMessage.finding == Finding.outside_contact),
                counted(CapturedMessage.finding == Finding.unknown_participant),
                counted(col(CapturedMessage.flagged_message_id).is_not(None)),
            )
            .where(col(CapturedMessage.contact_id).in_(ids))
            .group_by(col(CapturedMessage.contact_id))
        ).all()
    }
    logged = dict(
        session.exec(
            select(Message.contact_id, func.count())
            .where(col(Message.contact_id).in_(ids))
            .group_by(col(Message.contact_id))
        ).all()
    )
    found = []
    for c in contacts:
        assert c.id is not None
        r = rows.get(c.id)
        found.append(
            ContactGaps(
                contact_id=c.id,
                platform=c.platform,
                school_account=c.school_account,
                captured=r[1] if r else 0,
                covered=int(r[2] or 0) if r else 0,
                not_logged=int(r[3] or 0) if r else 0,
                breaches=int(r[4] or 0) if r else 0,
                unknown_participants=int(r[5] or 0) if r else 0,
                flagged=int(r[6] or 0) if r else 0,
                logged=logged.get(c.id, 0),
            )
        )
    return found
