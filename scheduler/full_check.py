"""The full check as the scheduler makes it: begun when the schedule or a DSL asks, read in one
read-only session (no writer waits for it), its progress written down every few seconds so that
a restart resumes it, and its findings emailed to the DSLs whose they are."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

from sqlmodel import Session

from core.db import Database, read_consistently
from core.errors import Conflict
from core.record import full_check, scan, verification
from core.record.full_check import Progress
from core.settings import Settings
from scheduler import emails
from scheduler.checkpointing import dsls_of
from scheduler.recipients import send

# Progress is written down this often (seconds): what a restart would check again.
WRITE_EVERY = 2.0


def check_chain(db: Database, settings: Settings, at: datetime) -> int:
    """The chain_check job: a check asked for if the last began CHAIN_CHECK_HOURS ago, the one
    under way (asked for, or left by a runner that stopped) made to its end, and each trust's
    DSLs emailed what is theirs if anything was found (once for each distinct set of
    findings): 1 if anyone was told, else 0."""
    with db.transaction() as session:
        if full_check.is_due(session, at=at, every=timedelta(hours=settings.chain_check_hours)):
            # Another scheduler may have asked a moment ago: then it is under way already.
            with suppress(Conflict):
                full_check.ask(session, asked_by=None, at=at)
    with db.transaction() as session:
        check = full_check.take_up(session, at=at)
        if check is None:
            return 0
        assert check.id is not None
        assert check.held_until is not None
        check_id, place, held = check.id, full_check.place_of(check), check.held_until
    began = time.monotonic()

    def now() -> datetime:  # the job's time, moved on by how long the check has taken
        return at + timedelta(seconds=time.monotonic() - began)

    try:
        held = _made(db, check_id, place, held, now)
        with db.transaction() as session:
            full_check.finish(session, check_id, held_since=held, at=now())
    except full_check.HoldLost:  # this runner stalled and another took the check up
        return 0
    with db.transaction() as session:
        check = full_check.latest(session)
        assert check is not None
        result = full_check.outcome(session, check)
        return 0 if result.ok else _alert(session, result, settings=settings, at=now())


def _made(
    db: Database,
    check_id: int,
    place: scan.Place,
    held: datetime,
    now: Callable[[], datetime],
) -> datetime:
    """The check's steps from `place` to its end, written down as they go: the hold it ends on.

    It judges one moment of the record (rows committed meanwhile are not "altered"); a check
    resumed after a restart judges another moment from where it got to, each record still
    compared with its own seals at one moment."""
    with db.session(for_reading=True) as reading:
        read_consistently(reading)
        progress, wrote = Progress(place), time.monotonic()
        for step in scan.steps(reading, place):
            progress.place = step.place
            progress.events += step.events
            progress.records += step.records
            progress.findings += verification.found_in_events(step)
            progress.altered += verification.placed(reading, list(step.altered))
            if step.place.phase == "done" or time.monotonic() - wrote >= WRITE_EVERY:
                with db.transaction() as session:
                    held = full_check.write_progress(
                        session, check_id, progress, held_since=held, at=now()
                    )
                progress, wrote = Progress(step.place), time.monotonic()
        reading.rollback()
    return held


def _alert(
    session: Session, result: verification.VerifyResult, *, settings: Settings, at: datetime
) -> int:
    """Each trust's DSLs told of their own findings (the trust's DSLs too: what was altered may
    be a school DSL's own doing); what is no one trust's, everyone."""
    for trust_id, (problem, altered) in _by_trust(result).items():
        found = sorted(f"{a.record_type}:{a.record_id}:{a.change}" for a in altered)
        seen = f"{trust_id}|{problem}|{','.join(found)}"
        what = hashlib.sha256(seen.encode()).hexdigest()[:16]
        email = emails.chain_altered(
            problem=problem, altered=len(altered), base_url=settings.public_url
        )
        for dsl in dsls_of(session, trust_id):
            send(session, f"chain-altered:{what}", "chain_altered", dsl, email, None, at=at)
    return 1


def _by_trust(
    result: verification.VerifyResult,
) -> dict[int | None, tuple[str | None, list[verification.AlteredRecord]]]:
    """The findings by whose they are: a trust's log and records go to that trust's DSLs
    only; what is no one trust's (None) to every DSL."""
    groups: dict[int | None, tuple[str | None, list[verification.AlteredRecord]]] = {}
    for finding in result.findings:
        if finding.trust_id not in groups:  # the first finding of each log is enough to act
            groups[finding.trust_id] = (finding.problem, [])
    for record in result.altered:
        groups.setdefault(record.trust_id, (None, []))[1].append(record)
    return groups
