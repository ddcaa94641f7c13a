"""The full check of the change record, out of the request path: every event against the leaf
its log holds for it, every log's tiles against its root, and every kept record against the
seal its latest event carries, with memory that stays flat however large the record grows.

The seals are read as one stream sorted by record (the database sorts, spilling to disk if it
must), and merged with each kind of record read in the order of its ids: no dict of every seal,
no list of every record, only what is found wrong. The check is a series of steps, each saying
where it got to (Place), so that a check stopped part way resumes there (core/record/full_check).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from core.record import logs, merkle, seals, signer
from core.record.models import AuditEvent, Log, LogCursor
from core.record.tiles import WIDTH, Tiles


@dataclass(frozen=True)
class LogFinding:
    """What is wrong with one log's events: whose log (None: no one trust's, or events not yet
    in any log, which are everyone's to know of), the first event found wrong, and how."""

    trust_id: int | None
    first_bad: int | None
    why: str


@dataclass(frozen=True)
class Place:
    """Where a full check has got to, so that it resumes there: in the events phase, the log
    (logs are checked in the order of their ids) and its next leaf; in the records phase, the
    kind of record (in sorted order) and the last of its ids compared."""

    phase: str = "events"  # events, records, done
    log_id: int = 0
    leaf: int = 0
    kind: str = ""
    record_id: int = 0


@dataclass(frozen=True)
class Step:
    """What one step of the check did: where it got to, how many events and records it checked,
    and what it found wrong."""

    place: Place
    events: int = 0
    records: int = 0
    findings: tuple[LogFinding, ...] = ()
    altered: tuple[tuple[seals.Altered, int | None], ...] = ()  # each with its seal's school


# Leaves compared in one step: a few tiles, so that a step is a fraction of a second.
LEAVES_PER_STEP = 16 * WIDTH
RECORDS_PER_STEP = 2_000


def steps(session: Session, place: Place) -> Iterator[Step]:
    """The full check from `place` on, one step at a time, in one reading of the record: every
    log's leaves against their events and its tiles against its root, the events not yet in a
    log, then every kept record against the seal its latest event carries. A log found wrong
    does not stop the others being checked. A check resumed in a later session judges each
    leaf and each record at one moment still: none is compared with another's state."""
    if place.phase == "events":
        yield from event_steps(session, place)
        place = Place("records")
    if place.phase == "records":
        yield from record_steps(session.connection(), place)


def event_steps(session: Session, place: Place) -> Iterator[Step]:
    logs_in_order = select(Log).where(col(Log.id) >= place.log_id).order_by(col(Log.id))
    for log in session.exec(logs_in_order).all():
        assert log.id is not None
        leaf = place.leaf if log.id == place.log_id else 0
        tiles = Tiles(session, log.id)
        if leaf == 0:
            try:
                whole = tiles.root(log.size) == log.root
            except merkle.ProofInvalid:
                whole = False
            if not whole:
                finding = LogFinding(
                    log.trust_id, None, f"{log.origin}: its tiles do not give its root"
                )
                yield Step(Place("events", log.id + 1), findings=(finding,))
                continue
        while leaf < log.size:
            end = min(leaf + LEAVES_PER_STEP, log.size)
            found = signer.leaves_match(session, log, tiles, leaf, end)
            if found is not None:
                finding = LogFinding(log.trust_id, found.seq, f"{log.origin}: {found.why}")
                yield Step(Place("events", log.id + 1), findings=(finding,))
                break
            yield Step(Place("events", log.id, end), events=end - leaf)
            leaf = end
    joining, tail = _tail(session)
    yield Step(Place("records"), events=joining, findings=(tail,) if tail else ())


def _tail(session: Session) -> tuple[int, LogFinding | None]:
    """The events not yet in a log: how many check out, and the first that does not."""
    cursor = session.get(LogCursor, 1)
    after = cursor.seq if cursor is not None else 0
    prev = logs.link_before(session, after)
    if prev is None:
        return 0, LogFinding(None, after, f"event #{after} was removed from the change record")
    expected = after + 1
    for event in logs.events_after(session, after):
        why = logs.joins(event, expected, prev)
        if why is not None:
            return expected - after - 1, LogFinding(None, expected, why)
        assert isinstance(event, AuditEvent)
        prev = event.link_hash
        expected += 1
    gone = signer.record_whole(session)
    return expected - after - 1, (LogFinding(None, expected, gone) if gone else None)


# ---------------------------------------------------------------- records against their seals


@dataclass(frozen=True)
class Seal:
    record_type: str
    record_id: int
    hash: str
    school_id: int | None  # of the event that sealed it last


def _seals_sql(conn: Connection) -> sa.TextClause:
    """Every seal every event carries after (:kind, :id), one row each, sorted by record and
    newest first (kinds in byte order, as Python sorts them)."""
    if conn.dialect.name == "postgresql":
        return sa.text(
            """
            SELECT kind, id, hash, school_id FROM (
                SELECT split_part(s.key, ':', 1) COLLATE "C" AS kind,
                       split_part(s.key, ':', 2)::bigint AS id,
                       s.value AS hash, e.school_id AS school_id, e.seq AS seq
                FROM audit_event e, jsonb_each_text(e.details::jsonb -> 'sealed') s
                WHERE e.details LIKE '%"sealed"%'
            ) sealed
            WHERE kind > :kind OR (kind = :kind AND id > :id)
            ORDER BY kind, id, seq DESC
            """
        )
    return sa.text(
        """
        SELECT kind, id, hash, school_id FROM (
            SELECT substr(s.key, 1, instr(s.key, ':') - 1) AS kind,
                   CAST(substr(s.key, instr(s.key, ':') + 1) AS INTEGER) AS id,
                   s.value AS hash, e.school_id AS school_id, e.seq AS seq
            FROM audit_event e, json_each(e.details, '$.sealed') s
            WHERE e.details LIKE '%"sealed"%'
        )
        WHERE kind > :kind OR (kind = :kind AND id > :id)
        ORDER BY kind, id, seq DESC
        """
    )


def latest_seals(conn: Connection, after: tuple[str, int] = ("", 0)) -> Iterator[Seal]:
    """The latest seal of each record after `after`, in order of (kind, id): streamed, a batch
    at a time."""
    result = conn.execution_options(stream_results=True, yield_per=5_000).execute(
        _seals_sql(conn), {"kind": after[0], "id": after[1]}
    )
    last: tuple[str, int] | None = None
    for kind, record_id, hashed, school_id in result:
        if (kind, record_id) != last:
            last = (kind, record_id)
            yield Seal(kind, int(record_id), hashed, school_id)


def record_steps(conn: Connection, place: Place) -> Iterator[Step]:
    """Each kept record, kind by kind in the order of their ids, merged with the seals, from
    just after (place.kind, place.record_id)."""
    stream = latest_seals(conn, (place.kind, place.record_id))
    pending = next(stream, None)
    altered: list[tuple[seals.Altered, int | None]] = []
    checked = 0
    kinds = sorted(seals.KEPT)
    for name in (k for k in kinds if k >= place.kind):
        # Seals of kinds no longer kept, or sorted before this one, are passed over.
        while pending is not None and pending.record_type < name:
            pending = next(stream, None)
        after = place.record_id if name == place.kind else 0
        for record_id, hashed in seals.current(conn, name, after=after):
            checked += 1
            while (
                pending is not None
                and pending.record_type == name
                and pending.record_id < record_id
            ):
                altered.append(
                    (seals.Altered(name, pending.record_id, "deleted"), pending.school_id)
                )
                pending = next(stream, None)
            if pending is not None and (pending.record_type, pending.record_id) == (
                name,
                record_id,
            ):
                if pending.hash != hashed:
                    altered.append((seals.Altered(name, record_id, "edited"), pending.school_id))
                pending = next(stream, None)
            else:
                altered.append((seals.Altered(name, record_id, "unrecorded"), None))
            if checked == RECORDS_PER_STEP:
                yield Step(
                    Place("records", kind=name, record_id=record_id),
                    records=checked,
                    altered=tuple(altered),
                )
                checked, altered = 0, []
        while pending is not None and pending.record_type == name:
            altered.append((seals.Altered(name, pending.record_id, "deleted"), pending.school_id))
            pending = next(stream, None)
        # The kind is done: a resumed check begins at the next kind's first record.
        following = [k for k in kinds if k > name]
        done = Place("records", kind=following[0]) if following else Place("done")
        yield Step(done, records=checked, altered=tuple(altered))
        checked, altered = 0, []
