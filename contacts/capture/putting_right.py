"""Putting a gap right: a captured message missing from the log, logged by its contact's holder
in one tap (the entry takes its direction, time, pupils and words; they write the summary)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlmodel import Session, col, select

from contacts.capture.models import CapturedMessage, CapturedPupil, Finding
from contacts.messages import log_message
from contacts.models import Direction, MessageCreate, MessagePublic
from core import once
from core.directory.access import get_scoped
from core.errors import Conflict, Forbidden
from core.inputs import Forbid
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals


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
