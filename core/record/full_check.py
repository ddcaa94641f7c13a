"""The full check of the change record as a filed piece of work: asked for (by a DSL, or by the
schedule), taken up by one runner at a time, its progress and findings written down as it goes
so that a restart resumes it where it got to, and its outcome read by each DSL for their own
schools. What a check compares is core/record/scan.py; who is told is scheduler/full_check.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import once
from core.errors import Conflict
from core.record.models import ChainCheck, ChainCheckFinding
from core.record.scan import Place
from core.record.verification import AlteredRecord, CheckUnderWay, EventFinding, VerifyResult

# A runner that has written nothing for this long has died (or lost its database): another
# may take its check up where it got to.
HOLD = timedelta(minutes=5)


class HoldLost(Exception):
    """Another runner took the check up: this one stops, writing nothing more."""


def under_way(session: Session) -> ChainCheck | None:
    """The check asked for or running now, if any (there is never more than one)."""
    return session.exec(select(ChainCheck).where(ChainCheck.pending == 1)).first()


def latest(session: Session) -> ChainCheck | None:
    """The latest check filed done, if any: the last asked for (checks are made one at a time,
    in the order they were asked for, whatever the clocks of the schedulers that made them)."""
    query = select(ChainCheck).where(ChainCheck.state == "done").order_by(col(ChainCheck.id).desc())
    return session.exec(query.limit(1)).first()


def ask(session: Session, *, asked_by: int | None, at: datetime) -> ChainCheck:
    """A check asked for, to be made by the scheduler within seconds. Conflict if one is
    already asked for or under way: two asking at once, one asks and the other is told."""
    check = ChainCheck(checked_at=at, asked_by=asked_by, state="asked", pending=1)
    try:
        with session.begin_nested():
            session.add(check)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "A check of the record is already on its way; its outcome will show on the dashboard."
        ) from None
    return check


def is_due(session: Session, *, at: datetime, every: timedelta) -> bool:
    """Whether the schedule asks for a check: none under way, and none begun within `every`."""
    if under_way(session) is not None:
        return False
    last = session.exec(
        select(ChainCheck.checked_at).order_by(col(ChainCheck.checked_at).desc()).limit(1)
    ).first()
    return last is None or at - last >= every


def take_up(session: Session, *, at: datetime) -> ChainCheck | None:
    """The check under way, held for this runner until `at + HOLD`, unless another runner
    holds it still: None if there is none to take."""
    check = under_way(session)
    if check is None:
        return None
    held = (col(ChainCheck.held_until).is_(None)) | (col(ChainCheck.held_until) <= at)
    if not once.took(
        session,
        ChainCheck,
        check.id,
        still=sa.and_(col(ChainCheck.pending) == 1, held),
        values={"state": "running", "held_until": at + HOLD},
    ):
        return None
    session.refresh(check)
    return check


def place_of(check: ChainCheck) -> Place:
    return Place(check.phase, check.at_log, check.at_leaf, check.at_kind, check.at_record)


@dataclass
class Progress:
    """What a runner has done since it last wrote: where it got to and what it found."""

    place: Place
    events: int = 0
    records: int = 0
    findings: list[EventFinding] = field(default_factory=list)
    altered: list[AlteredRecord] = field(default_factory=list)


def write_progress(
    session: Session, check_id: int, progress: Progress, *, held_since: datetime, at: datetime
) -> datetime:
    """The progress written down and the hold renewed until `at + HOLD`; HoldLost if another
    runner has taken the check meanwhile (its hold is no longer `held_since`'s). Returns the
    new hold, to be given as `held_since` next time."""
    first = progress.findings[0].first_bad if progress.findings else None
    where = progress.place
    values = {
        "held_until": at + HOLD,
        "phase": where.phase,
        "at_log": where.log_id,
        "at_leaf": where.leaf,
        "at_kind": where.kind,
        "at_record": where.record_id,
        "events_checked": ChainCheck.events_checked + progress.events,
        "records_checked": ChainCheck.records_checked + progress.records,
        "altered": ChainCheck.altered + len(progress.altered),
    }
    if progress.findings or progress.altered:
        values["ok"] = False
    if first is not None:
        values["first_bad"] = sa.func.coalesce(ChainCheck.first_bad, first)
    if not once.took(
        session,
        ChainCheck,
        check_id,
        still=sa.and_(col(ChainCheck.pending) == 1, col(ChainCheck.held_until) == held_since),
        values=values,
    ):
        raise HoldLost
    for f in progress.findings:
        session.add(
            ChainCheckFinding(
                check_id=check_id, trust_id=f.trust_id, first_bad=f.first_bad, problem=f.problem
            )
        )
    for a in progress.altered:
        session.add(
            ChainCheckFinding(
                check_id=check_id,
                trust_id=a.trust_id,
                school_id=a.school_id,
                record_type=a.record_type,
                record_id=a.record_id,
                change=a.change,
            )
        )
    return at + HOLD


def finish(session: Session, check_id: int, *, held_since: datetime, at: datetime) -> None:
    """The check filed done: its outcome is now the latest, and a new one may be asked for."""
    if not once.took(
        session,
        ChainCheck,
        check_id,
        still=sa.and_(col(ChainCheck.pending) == 1, col(ChainCheck.held_until) == held_since),
        values={"state": "done", "pending": None, "held_until": None, "finished_at": at},
    ):
        raise HoldLost


def outcome(session: Session, check: ChainCheck | None) -> VerifyResult:
    """A check's outcome as the whole record's (each reader sees it through `seen_from`), with
    the check under way now, if there is one; `ok` is None before any check was filed."""
    going = under_way(session)
    checking = (
        CheckUnderWay(
            asked_at=going.checked_at,
            running=going.state == "running",
            events_checked=going.events_checked,
            records_checked=going.records_checked,
        )
        if going is not None
        else None
    )
    if check is None:
        return VerifyResult(ok=None, checked=0, first_bad=None, checking=checking)
    rows = session.exec(
        select(ChainCheckFinding)
        .where(ChainCheckFinding.check_id == check.id)
        .order_by(col(ChainCheckFinding.id))
    ).all()
    findings = [
        EventFinding(trust_id=r.trust_id, first_bad=r.first_bad, problem=r.problem or "")
        for r in rows
        if r.record_type is None
    ]
    altered = [
        AlteredRecord(
            record_type=r.record_type,
            record_id=r.record_id or 0,
            change=r.change or "",
            school_id=r.school_id,
            trust_id=r.trust_id,
        )
        for r in rows
        if r.record_type is not None
    ]
    first = findings[0] if findings else None
    return VerifyResult(
        ok=check.ok,
        checked=check.events_checked,
        first_bad=first.first_bad if first else None,
        problem=first.problem if first else None,
        verified_at=check.finished_at,
        records_checked=check.records_checked,
        altered=altered,
        findings=findings,
        checking=checking,
    )
