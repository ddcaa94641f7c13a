"""What the platform captured against what was logged, for the people who act on it: the staff
member (their contacts' messages missing from their log, each logged with one tap) and the DSL
(per contact and per member of staff: captured, logged, the gaps, the breaches)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from contacts.capture import reconcile
from contacts.capture.models import CapturedMessage, CapturedPupil, CaptureUpload, Finding
from contacts.messages import log_message
from contacts.models import Direction, Message, MessageCreate, MessagePublic
from contacts.service import contact_in_scope
from core import once
from core.directory.access import get_scoped, visible_school
from core.directory.models import Role, School
from core.errors import Conflict, Forbidden
from core.inputs import Forbid
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals


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


def reconciliation(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, contact_id: int
) -> Reconciliation:
    """One contact's captured messages against its log: the contact's holder, their manager or
    the school's DSL may read it; what was said only the holder and the DSL. Anyone's read but
    the holder's is on the record."""
    contact, school, _ = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    words = contact.staff_id == actor.staff_id or _is_dsl(actor, school)
    if contact.staff_id != actor.staff_id:
        audit.record(
            session,
            actor=actor,
            at=at,
            action="access.captured",
            object_type="contact",
            object_id=contact_id,
            school_id=contact.school_id,
            details={"words": words},
        )
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
    """How many captured messages each contact's log is missing (for My contacts)."""
    if not contact_ids:
        return {}
    from sqlalchemy import func

    rows = session.exec(
        select(CapturedMessage.contact_id, func.count())
        .where(
            col(CapturedMessage.contact_id).in_(contact_ids),
            CapturedMessage.finding == Finding.not_logged,
        )
        .group_by(col(CapturedMessage.contact_id))
    ).all()
    return {cid: n for cid, n in rows if cid is not None}


# ---------------------------------------------------------------- logged with one tap


class LogCaptured(Forbid):
    """What the staff member adds to a captured message to log it: their summary, and the
    device it was on (the school phone's tag)."""

    summary: str = Field(min_length=1, max_length=2000)
    device_tag: str = Field(min_length=1, max_length=50)


def log_captured(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    captured_id: int,
    log_in: LogCaptured,
) -> MessagePublic:
    """The captured message logged by its contact's holder: the entry takes its direction, time,
    pupils and words; the holder writes the summary. Once: a second tap is told it is logged.
    A breach (before approval, say) is logged too, and the entry is flagged for it."""
    captured = get_scoped(session, actor, CapturedMessage, captured_id, "No such captured message.")
    if captured.contact_id is None or captured.staff_id != actor.staff_id:
        raise Forbidden(
            "Only the member of staff who holds its contact may log a captured message."
        )
    if captured.matched_message_id is not None:
        raise Conflict("This captured message is already covered by a logged entry.")
    pupil_ids = list(
        session.exec(
            select(CapturedPupil.pupil_id).where(CapturedPupil.captured_id == captured_id)
        ).all()
    )
    entry = log_message(
        session=session,
        actor=actor,
        policy=policy,
        at=at,
        contact_id=captured.contact_id,
        message_in=MessageCreate(
            direction=Direction(captured.direction),
            occurred_at=captured.sent_at,
            pupil_ids=pupil_ids or None,
            device_tag=log_in.device_tag,
            summary=log_in.summary,
            verbatim=captured.content[:20000] or None,
        ),
    )
    if not once.took(
        session,
        CapturedMessage,
        captured_id,
        still=col(CapturedMessage.matched_message_id).is_(None),
        # A breach stays one, logged or not: the entry carries the log's own flags for it.
        values={
            "matched_message_id": entry.id,
            "finding": captured.finding
            if captured.finding == Finding.outside_contact
            else Finding.logged,
        },
    ):
        raise Conflict("This captured message was logged a moment ago.")
    session.expire(captured)
    audit.record(
        session,
        actor=actor,
        at=at,
        action="capture.logged",
        object_type="captured_message",
        object_id=captured_id,
        school_id=captured.school_id,
        details={"message_id": entry.id},
        sealed=seals.seal(session, ("captured_message", captured_id)),
    )
    return entry


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
    audit.record(
        session,
        actor=actor,
        at=at,
        action="access.captured",
        object_type="school",
        object_id=school.id,
        school_id=school.id,
        details={"words": True, "unplaced": True},
    )
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


def uploads_of(*, session: Session, actor: Principal, limit: int = 50) -> list[CaptureUpload]:
    """The school's uploads for its DSL; a member of staff's own for them."""
    if actor.school_id is None:
        raise Forbidden("Uploads belong to a school.")
    school = visible_school(session, actor, actor.school_id)
    query = select(CaptureUpload).where(CaptureUpload.school_id == school.id)
    if not _is_dsl(actor, school):
        query = query.where(CaptureUpload.uploaded_by_id == actor.staff_id)
    return list(session.exec(query.order_by(col(CaptureUpload.id).desc()).limit(limit)).all())
