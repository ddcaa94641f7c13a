"""The change record's verifiable logs: one per trust (the data controller), and one for the
deployment's own events; events join them in batches, in the order of their numbers, and
inclusion and consistency proofs are read from their tiles.

An event is numbered as its transaction commits (core/record/audit.py); the scheduler's log job
then hashes it into its trust's tree within seconds. A leaf is the hash of the event's number
and content hash: the content hash covers every field, and the seals of the records the event
changed, so a proof vouches for a record without holding a word of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.db import table_of
from core.record import merkle
from core.record.audit import content_hash_of, link_hash_of
from core.record.models import (
    GENESIS,
    AuditEvent,
    Log,
    LogCheckpoint,
    LogCursor,
    LogLeaf,
    SealIndex,
)
from core.record.tiles import Tiles, entry

BATCH = 5_000
_cursor = table_of(LogCursor)
_leaf = table_of(LogLeaf)
_event = table_of(AuditEvent)
_seal_index = table_of(SealIndex)


def origin_for(public_url: str, trust_id: int | None) -> str:
    """A log's name: where the deployment is, and whose log it is (C2SP origin: no scheme)."""
    parts = urlsplit(public_url)
    where = (parts.netloc + parts.path.rstrip("/")) or "contactlog"
    return f"{where}/log/trust/{trust_id}" if trust_id is not None else f"{where}/log/deployment"


def log_of(session: Session, trust_id: int | None) -> Log | None:
    return session.exec(
        select(Log).where(
            col(Log.trust_id).is_(None) if trust_id is None else Log.trust_id == trust_id
        )
    ).first()


def _made(session: Session, trust_id: int | None, *, public_url: str, at: datetime) -> Log:
    log = log_of(session, trust_id)
    if log is None:
        log = Log(
            trust_id=trust_id,
            origin=origin_for(public_url, trust_id),
            root=merkle.EMPTY_ROOT,
            created_at=at,
        )
        session.add(log)
        session.flush()
    return log


@dataclass(frozen=True)
class Integrated:
    joined: int
    # Why integration stopped short of the newest event (None: it did not): an event missing
    # or not what was recorded. Nothing after it joins a log until it is put right.
    stopped: str | None = None


def _trust_of(event: AuditEvent, trusts: dict[int, int]) -> int | None:
    """Whose log an event joins: its school's trust; for an event of no school, the trust it
    is about (a trust created, its retention run); else the deployment's."""
    if event.school_id is not None:
        return trusts.get(event.school_id)
    if event.object_type == "trust":
        return event.object_id
    trust = json.loads(event.details).get("trust_id")
    return trust if isinstance(trust, int) else None


class Unreadable:
    """An event row that cannot even be read: a value no event can hold, written by hand."""

    def __init__(self, seq: int) -> None:
        self.seq = seq


def events_after(
    session: Session, after: int, *, most: int | None = None, batch: int = BATCH
) -> Iterator[AuditEvent | Unreadable]:
    """The events numbered after `after`, in order, a batch at a time; a row that cannot be
    read is handed over as Unreadable, not raised."""
    given = 0
    while most is None or given < most:
        size = batch if most is None else min(batch, most - given)
        query = select(AuditEvent).where(col(AuditEvent.seq) > after)
        try:
            rows: list[AuditEvent | Unreadable] = list(
                session.exec(query.order_by(col(AuditEvent.seq)).limit(size)).all()
            )
        except (TypeError, ValueError):
            rows = list(_one_by_one(session, after, size))
        if not rows:
            return
        yield from rows
        given += len(rows)
        after = rows[-1].seq


def _one_by_one(session: Session, after: int, size: int) -> Iterator[AuditEvent | Unreadable]:
    seqs = session.connection().execute(
        sa.select(_event.c.seq).where(_event.c.seq > after).order_by(_event.c.seq).limit(size)
    )
    for (seq,) in seqs.all():
        try:
            found = session.exec(select(AuditEvent).where(AuditEvent.seq == seq)).one()
        except (TypeError, ValueError):
            yield Unreadable(seq)
        else:
            yield found


def joins(event: AuditEvent | Unreadable, expected: int, prev_link: str) -> str | None:
    """Why an event may not be the next to join a log (None: it may): it must be the next
    number, its content what its hash says, and its place in the record where it was made
    (its links), so that no event edited, removed or moved before it joined is vouched for."""
    if event.seq != expected:
        return f"event #{expected} is missing from the change record"
    if isinstance(event, Unreadable):
        return f"event #{event.seq} holds a value no event can hold: it was edited by hand"
    if content_hash_of(event) != event.content_hash:
        return f"event #{event.seq} is not what was recorded: its fields were changed"
    if event.prev_hash != prev_link or event.link_hash != link_hash_of(
        event.seq, prev_link, event.content_hash
    ):
        return f"event #{event.seq} is not where it was recorded: the record's order was changed"
    return None


def link_before(session: Session, seq: int) -> str | None:
    """The link of event `seq` (the genesis for 0); None if that event is gone."""
    if seq == 0:
        return GENESIS
    found = session.connection().execute(sa.select(_event.c.link_hash).where(_event.c.seq == seq))
    return found.scalar()


def integrate(session: Session, *, public_url: str, at: datetime, most: int = BATCH) -> Integrated:
    """Hash the events numbered since the last integration into their logs (at most `most`).

    The cursor row is locked first, so integrations queue rather than race; each event is
    checked as it joins (`joins`), so a row edited between its commit and now is refused, not
    vouched for.
    """
    conn = session.connection()
    last = conn.execute(
        _cursor.update().where(_cursor.c.id == 1).values(seq=_cursor.c.seq).returning(_cursor.c.seq)
    ).scalar()
    if last is None:
        raise RuntimeError("The change record has no log cursor; run `contactlog migrate`.")
    events = list(events_after(session, last, most=most))
    if not events:
        return Integrated(0)
    prev = link_before(session, last)
    if prev is None:
        return Integrated(0, f"event #{last}, the last to join a log, was removed")
    trusts: dict[int, int] = {
        school: trust for school, trust in conn.execute(sa.text("SELECT id, trust_id FROM school"))
    }
    joining: dict[int | None, list[AuditEvent]] = {}
    expected, stopped = last + 1, None
    for event in events:
        stopped = joins(event, expected, prev)
        if stopped is not None:
            break
        assert isinstance(event, AuditEvent)
        joining.setdefault(_trust_of(event, trusts), []).append(event)
        prev = event.link_hash
        expected += 1
    for trust_id, joined in joining.items():
        log = _made(session, trust_id, public_url=public_url, at=at)
        assert log.id is not None
        tiles = Tiles(session, log.id)
        conn.execute(
            _leaf.insert(),
            [
                {"seq": e.seq, "log_id": log.id, "leaf_index": log.size + i}
                for i, e in enumerate(joined)
            ],
        )
        size = tiles.append(
            log.size, (merkle.leaf_hash(entry(e.seq, e.content_hash)) for e in joined)
        )
        tiles.flush()
        log.size, log.root = size, tiles.root(size)
        session.add(log)
    _index_seals(session, [e for joined in joining.values() for e in joined])
    conn.execute(_cursor.update().where(_cursor.c.id == 1).values(seq=expected - 1))
    session.flush()
    return Integrated(expected - 1 - last, stopped)


def _index_seals(session: Session, events: list[AuditEvent]) -> None:
    """Each record these events sealed now points at the latest of them (seal_index)."""
    latest: dict[tuple[str, int], int] = {}
    for event in events:
        if '"sealed"' not in event.details:
            continue
        for key in json.loads(event.details).get("sealed", {}):
            kind, _, number = key.partition(":")
            if number.isdigit():
                latest[(kind, int(number))] = event.seq
    if not latest:
        return
    conn = session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    rows = [{"record_type": k, "record_id": i, "seq": seq} for (k, i), seq in latest.items()]
    for start in range(0, len(rows), 1_000):
        statement = insert(_seal_index).values(rows[start : start + 1_000])
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["record_type", "record_id"],
                set_={"seq": statement.excluded.seq},
                where=_seal_index.c.seq < statement.excluded.seq,
            )
        )


def integrate_all(session: Session, *, public_url: str, at: datetime) -> Integrated:
    """Every event numbered so far, batch after batch."""
    total = 0
    while True:
        done = integrate(session, public_url=public_url, at=at)
        total += done.joined
        if done.stopped is not None or done.joined < BATCH:
            return Integrated(total, done.stopped)


# ---------------------------------------------------------------- reading the logs


def leaf_of(session: Session, seq: int) -> LogLeaf | None:
    return session.get(LogLeaf, seq)


def latest_checkpoint(session: Session, log_id: int) -> LogCheckpoint | None:
    return session.exec(
        select(LogCheckpoint)
        .where(LogCheckpoint.log_id == log_id)
        .order_by(col(LogCheckpoint.size).desc())
        .limit(1)
    ).first()


def checkpoint_at(session: Session, log_id: int, size: int) -> LogCheckpoint | None:
    return session.exec(
        select(LogCheckpoint).where(LogCheckpoint.log_id == log_id, LogCheckpoint.size == size)
    ).first()


def inclusion(tiles: Tiles, leaf_index: int, size: int) -> list[bytes]:
    """The inclusion proof of a leaf in the tree of `size` (a checkpoint's)."""
    return merkle.inclusion_path(leaf_index, size, tiles.subtree)


def consistency(tiles: Tiles, old_size: int, size: int) -> list[bytes]:
    """The proof that the tree of `size` extends the tree of `old_size`."""
    if old_size == size:
        return []
    return merkle.consistency_path(old_size, size, tiles.subtree)


def extends(tiles: Tiles, size: int, root: bytes, old_size: int, old_root: bytes) -> bool:
    """Whether the tree of `size` leaves with `root` (these tiles') extends the one of
    `old_size` with `old_root` (a checkpoint's): the consistency proof made and checked."""
    if old_size == 0:
        return True
    try:
        proof = consistency(tiles, old_size, size)
        merkle.verify_consistency(old_size, size, proof, old_root, root)
    except merkle.ProofInvalid:
        return False
    return True


def leaf_entries(session: Session, log_id: int, start: int, end: int) -> list[bytes]:
    """The log's entries [start, end), in order: what its level-0 hashes are the hashes of."""
    rows = session.connection().execute(
        sa.select(_leaf.c.leaf_index, _event.c.seq, _event.c.content_hash)
        .join(_event, _event.c.seq == _leaf.c.seq)
        .where(_leaf.c.log_id == log_id, _leaf.c.leaf_index >= start, _leaf.c.leaf_index < end)
        .order_by(_leaf.c.leaf_index)
    )
    return [entry(seq, content_hash) for _, seq, content_hash in rows]
