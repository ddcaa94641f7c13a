"""Checking the change record as its readers see it: a full check's outcome (made by
core/record/scan.py, filed by core/record/full_check.py) shown to each reader for their own
schools, and the whole check made at once where nothing needs it resumable (the old chain's
checkpoints, the CLI's tests, benches)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as Detail
from sqlmodel import Session

from core.db import table_of
from core.errors import Conflict
from core.record import scan, seals


class AlteredRecord(BaseModel):
    record_type: str
    record_id: int
    # edited, deleted, or unrecorded (a row no event sealed)
    change: str
    # Whose record it is (from the event that last sealed it, or the row itself): a reader is
    # named only their own schools' records, and told how many others there are.
    school_id: int | None = Detail(default=None, exclude=True)
    trust_id: int | None = Detail(default=None, exclude=True)


class EventFinding(BaseModel):
    """What is wrong with one log's events (scan.LogFinding): kept out of what readers see,
    each of whom is shown their own trust's (and what is no one trust's)."""

    trust_id: int | None
    first_bad: int | None
    problem: str


class CheckUnderWay(BaseModel):
    """A full check asked for or running now: when it was asked for, and how far it has got."""

    asked_at: datetime
    running: bool
    events_checked: int
    records_checked: int


class VerifyResult(BaseModel):
    # Whether the record verifies, as the latest filed check found it; None before any check.
    ok: bool | None
    checked: int
    # The first event found wrong, and what is wrong with the events or the logs, if anything.
    first_bad: int | None
    problem: str | None = None
    # When that check finished (None: the record has not been checked yet).
    verified_at: datetime | None = None
    # A newer check asked for or under way, if any: its outcome replaces this one when done.
    checking: CheckUnderWay | None = None
    # The records under the chain, each compared with the hash its latest event sealed.
    records_checked: int = 0
    altered: list[AlteredRecord] = []
    # Altered records outside the reader's schools: counted, not named.
    altered_elsewhere: int = 0
    # Every log's finding; `first_bad` and `problem` above are the first of them a reader may
    # see (the whole record's first, before `seen_from`).
    findings: list[EventFinding] = Detail(default=[], exclude=True)

    def seen_from(
        self, school_ids: set[int], trust_id: int | None, reader_trust: int | None
    ) -> VerifyResult:
        """This result as one reader may see it: the altered records of their own schools
        (and, for `trust_id`, their trust's own row), a count for the rest; the first finding
        of their trust's log or of no one trust's, never another trust's. `ok` stays the whole
        record's."""
        mine = [
            a
            for a in self.altered
            if (a.school_id is not None and a.school_id in school_ids)
            or (a.school_id is None and a.trust_id is not None and a.trust_id == trust_id)
        ]
        theirs = [f for f in self.findings if f.trust_id in (None, reader_trust)]
        first = theirs[0] if theirs else None
        return self.model_copy(
            update={
                "altered": mine,
                "altered_elsewhere": len(self.altered) - len(mine),
                "first_bad": first.first_bad if first else None,
                "problem": first.problem if first else None,
            }
        )


_checking = threading.Lock()


@contextmanager
def only_check(*, busy: str) -> Iterator[None]:
    """Held while a check asked for by a person runs in a request (a kept checkpoint against
    the log): a second one at the same moment is refused (Conflict) rather than queued."""
    if not _checking.acquire(blocking=False):
        raise Conflict(busy)
    try:
        yield
    finally:
        _checking.release()


def verify(session: Session) -> VerifyResult:
    """The full check at once, in this session (core/record/scan.py): every event against its
    log's leaf, every log's tiles against its root, then every kept record against the seal
    its latest event carries. The scheduler's check is the same steps, filed as they go."""
    checked = records = 0
    findings: list[EventFinding] = []
    altered: list[AlteredRecord] = []
    for step in scan.steps(session, scan.Place()):
        checked += step.events
        records += step.records
        findings += found_in_events(step)
        altered += placed(session, list(step.altered))
    first = findings[0] if findings else None
    return VerifyResult(
        ok=not findings and not altered,
        checked=checked,
        first_bad=first.first_bad if first else None,
        problem=first.problem if first else None,
        records_checked=records,
        altered=altered,
        findings=findings,
    )


def found_in_events(step: scan.Step) -> list[EventFinding]:
    return [
        EventFinding(trust_id=f.trust_id, first_bad=f.first_bad, problem=f.why)
        for f in step.findings
    ]


def placed(
    session: Session, altered: list[tuple[seals.Altered, int | None]]
) -> list[AlteredRecord]:
    """Each altered record with its school (and trust): from the event that last sealed it,
    else from its own row (one no event sealed)."""
    if not altered:
        return []
    conn = session.connection()
    school_trusts: dict[int | None, int] = {
        i: t for i, t in conn.execute(sa.text("SELECT id, trust_id FROM school")).all()
    }
    found = []
    for a, school_id in altered:
        if school_id is None and a.record_type in seals.KEPT:
            table = table_of(seals.KEPT[a.record_type].model)
            if "school_id" in table.c:
                school_id = conn.execute(
                    sa.select(table.c.school_id).where(table.c.id == a.record_id)
                ).scalar()
        if a.record_type == "school" and school_id is None:
            school_id = a.record_id
        trust_id = a.record_id if a.record_type == "trust" else school_trusts.get(school_id)
        found.append(AlteredRecord(**a.__dict__, school_id=school_id, trust_id=trust_id))
    return found
