"""The full check of the change record, out of the request path: every event against the leaf
its log holds for it, every log's tiles against its root, and every kept record against the
seal its latest event carries, with memory that stays flat however large the record grows.

The seals are read as one stream sorted by record (the database sorts, spilling to disk if it
must), and merged with each kind of record read in the order of its ids: no dict of every seal,
no list of every record, only what is found wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from core.db import table_of
from core.record import logs, merkle, seals, signer
from core.record.models import AuditEvent, Log, LogCursor
from core.record.tiles import Tiles

_event = table_of(AuditEvent)


@dataclass(frozen=True)
class LogFinding:
    """What is wrong with one log's events: whose log (None: no one trust's, or events not yet
    in any log, which are everyone's to know of), the first event found wrong, and how."""

    trust_id: int | None
    first_bad: int | None
    why: str


@dataclass(frozen=True)
class EventsFound:
    checked: int
    # The first thing wrong with each log that has something wrong, in the order of the logs.
    findings: list[LogFinding]


def scan_events(session: Session) -> EventsFound:
    """Every log from its first leaf: each leaf against its event as the event stands now, the
    tiles against the root; then the events not yet in a log, as they will join, and none
    missing at the end. A log found wrong does not stop the others being checked."""
    checked, findings = 0, []
    for log in session.exec(select(Log).order_by(col(Log.id))).all():
        assert log.id is not None
        tiles = Tiles(session, log.id)
        try:
            whole = tiles.root(log.size) == log.root
        except merkle.ProofInvalid:
            whole = False
        if not whole:
            findings.append(
                LogFinding(log.trust_id, None, f"{log.origin}: its tiles do not give its root")
            )
            continue
        found = signer.leaves_match(session, log, tiles, 0)
        if found is not None:
            findings.append(LogFinding(log.trust_id, found.seq, f"{log.origin}: {found.why}"))
            continue
        checked += log.size
    joining, tail = _tail(session)
    if tail is not None:
        findings.append(tail)
    return EventsFound(checked + joining, findings)


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
    """Every seal every event carries, one row each, sorted by record and newest first."""
    if conn.dialect.name == "postgresql":
        return sa.text(
            """
            SELECT split_part(s.key, ':', 1) AS kind,
                   split_part(s.key, ':', 2)::bigint AS id,
                   s.value AS hash, e.school_id AS school_id
            FROM audit_event e, jsonb_each_text(e.details::jsonb -> 'sealed') s
            WHERE e.details LIKE '%"sealed"%'
            ORDER BY split_part(s.key, ':', 1) COLLATE "C",
                     split_part(s.key, ':', 2)::bigint, e.seq DESC
            """
        )
    return sa.text(
        """
        SELECT substr(s.key, 1, instr(s.key, ':') - 1) AS kind,
               CAST(substr(s.key, instr(s.key, ':') + 1) AS INTEGER) AS id,
               s.value AS hash, e.school_id AS school_id
        FROM audit_event e, json_each(e.details, '$.sealed') s
        WHERE e.details LIKE '%"sealed"%'
        ORDER BY kind, id, e.seq DESC
        """
    )


def latest_seals(conn: Connection) -> Iterator[Seal]:
    """The latest seal of each record, in order of (kind, id): streamed, a batch at a time."""
    result = conn.execution_options(stream_results=True, yield_per=5_000).execute(_seals_sql(conn))
    last: tuple[str, int] | None = None
    for kind, record_id, hashed, school_id in result:
        if (kind, record_id) != last:
            last = (kind, record_id)
            yield Seal(kind, int(record_id), hashed, school_id)


@dataclass(frozen=True)
class RecordsFound:
    checked: int
    altered: list[tuple[seals.Altered, int | None]]  # each with the school its seal named


def scan_records(conn: Connection) -> RecordsFound:
    """Each kept record, kind by kind in the order of their ids, merged with the seals."""
    stream = latest_seals(conn)
    pending = next(stream, None)
    altered: list[tuple[seals.Altered, int | None]] = []
    checked = 0
    for name in sorted(seals.KEPT):
        # Seals of kinds no longer kept, or sorted before this one, are passed over.
        while pending is not None and pending.record_type < name:
            pending = next(stream, None)
        for record_id, hashed in seals.current(conn, name):
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
        while pending is not None and pending.record_type == name:
            altered.append((seals.Altered(name, pending.record_id, "deleted"), pending.school_id))
            pending = next(stream, None)
    return RecordsFound(checked, altered)
