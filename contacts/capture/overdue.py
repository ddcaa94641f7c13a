"""Captured messages still missing from the log: matched again as entries are logged, and, once
the trust's period has passed with one still missing, made a flagged entry of its own (its
holder's, from the capture) so that the DSL is alerted, once, as for any flagged entry."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from contacts import repository
from contacts.capture import gaps, reconcile
from contacts.capture.models import CapturedMessage, CapturedPupil, CaptureUpload, Finding
from contacts.models import Flag
from core.directory.models import School
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals

MISSING = (Finding.not_logged, Finding.unknown_participant, Finding.outside_contact)


def _missing(school_id: int) -> SelectOfScalar[CapturedMessage]:
    return (
        select(CapturedMessage)
        .where(
            CapturedMessage.school_id == school_id,
            col(CapturedMessage.contact_id).is_not(None),
            col(CapturedMessage.matched_message_id).is_(None),
            col(CapturedMessage.flagged_message_id).is_(None),
            col(CapturedMessage.finding).in_(MISSING),
        )
        .order_by(col(CapturedMessage.id))
    )


def rematch(
    session: Session, *, actor: Principal, policy: Policy, school: School, at: datetime
) -> int:
    """Captured messages an entry logged since now covers, marked so: how many."""
    assert school.id is not None
    missing = list(session.exec(_missing(school.id)).all())
    if not missing:
        return 0
    entries = reconcile.entries_near(
        session,
        contact_ids={m.contact_id for m in missing if m.contact_id is not None},
        start=min(m.sent_at for m in missing),
        end=max(m.sent_at for m in missing),
        policy=policy,
    )
    pupils = _pupils_of(session, [m.id for m in missing if m.id is not None])
    covered = []
    for m in missing:
        assert m.contact_id is not None
        assert m.id is not None
        entry = reconcile.covering(
            entries.get(m.contact_id),
            direction=m.direction,
            sent_at=m.sent_at,
            pupil_ids=pupils.get(m.id, set()),
            policy=policy,
        )
        if entry is None:
            continue
        m.matched_message_id = entry.id
        if m.finding != Finding.outside_contact:
            m.finding = Finding.logged
        session.add(m)
        covered.append(m.id)
    if covered:
        session.flush()
        for start in range(0, len(covered), 500):
            batch = covered[start : start + 500]
            audit.record(
                session,
                actor=actor,
                at=at,
                action="capture.matched",
                object_type="captured_message",
                object_id=batch[0],
                school_id=school.id,
                details={"count": len(batch)},
                sealed=seals.seal(session, *(("captured_message", i) for i in batch)),
            )
    return len(covered)


def _pupils_of(session: Session, ids: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for start in range(0, len(ids), 500):
        for row in session.exec(
            select(CapturedPupil).where(
                col(CapturedPupil.captured_id).in_(ids[start : start + 500])
            )
        ).all():
            found.setdefault(row.captured_id, set()).add(row.pupil_id)
    return found


def overdue(session: Session, *, policy: Policy, school: School, at: datetime) -> list[int]:
    """The missing captured messages whose time to log them has passed, not yet flagged."""
    assert school.id is not None
    query = (
        select(CapturedMessage.id, CaptureUpload.uploaded_at)
        .join(CaptureUpload, col(CaptureUpload.id) == col(CapturedMessage.upload_id))
        .where(
            CapturedMessage.school_id == school.id,
            col(CapturedMessage.contact_id).is_not(None),
            col(CapturedMessage.matched_message_id).is_(None),
            col(CapturedMessage.flagged_message_id).is_(None),
            col(CapturedMessage.finding).in_(MISSING),
        )
        .order_by(col(CapturedMessage.id))
    )
    return [
        captured_id
        for captured_id, uploaded_at in session.exec(query).all()
        if captured_id is not None and gaps.log_by(uploaded_at, policy=policy, school=school) <= at
    ]


def flag_overdue(
    session: Session,
    *,
    actor: Principal,
    policy: Policy,
    school: School,
    at: datetime,
    captured_id: int,
) -> int:
    """The captured message made a flagged entry of its holder's, and the DSL alerted (the
    entry's alert): 1, or 0 if another scheduler did it a moment ago or it was logged since."""
    captured = session.exec(
        select(CapturedMessage).where(CapturedMessage.id == captured_id).with_for_update()
    ).one()
    if (
        captured.flagged_message_id is not None
        or captured.matched_message_id is not None
        or captured.contact_id is None
        or captured.staff_id is None
    ):
        return 0
    flags = sorted(
        {Flag.not_logged, *(Flag(f) for f in captured.flags.split(",") if f in Flag.__members__)}
    )
    days = policy.capture_log_school_days
    values = {
        "school_id": captured.school_id,
        "contact_id": captured.contact_id,
        "staff_id": captured.staff_id,
        "direction": captured.direction,
        "occurred_at": captured.sent_at,
        "logged_at": at,
        "device_id": None,
        "device_tag": "captured",
        "summary": (
            f"Not logged: a message {captured.direction} on {captured.school_account} that the "
            f"platform captured (upload {captured.upload_id}), still not in the log {days} school "
            "days after the upload. Made from the capture, for the DSL to review."
        ),
        "verbatim": None,
        "flags": ",".join(flags),
        "amends_id": None,
        "amend_reason": None,
        "needs_review": True,
        "sampled": False,
        "reviewed_at": None,
        "redacted_at": None,
    }
    pupil_ids = sorted(_pupils_of(session, [captured_id]).get(captured_id, set()))
    message_id = repository.store_message(
        session.connection(), values, pupil_ids=pupil_ids, flags=flags, alert=True
    )
    captured.flagged_message_id = message_id
    session.add(captured)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="capture.not_logged",
        object_type="captured_message",
        object_id=captured_id,
        school_id=captured.school_id,
        details={"message_id": message_id, "flags": flags},
        sealed=seals.seal(session, ("captured_message", captured_id), ("message", message_id)),
    )
    return 1
