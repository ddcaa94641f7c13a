"""What an insider with database access does to the change record, for tests that catch it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import table_of
from core.record import audit
from core.record.models import GENESIS, AuditEvent, AuditHead


def recompute_from(db, seq: int) -> None:  # type: ignore[no-untyped-def]
    """What an insider with database access does after editing an event: every content hash
    and link from there on made anew, and the head moved, so the chain checks out by itself."""
    with db.transaction() as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) >= seq).order_by("seq")
        ).all()
        before = session.get(AuditEvent, seq - 1)
        prev = before.link_hash if before else GENESIS
        for event in events:
            event.content_hash = audit.content_hash_of(event)
            event.prev_hash = prev
            event.link_hash = audit.link_hash_of(event.seq, prev, event.content_hash)
            prev = event.link_hash
            session.add(event)
        head = session.get(AuditHead, 1)
        assert head is not None
        head.link_hash = prev
        session.add(head)


def stored_events(session: Session, batch: int = 20_000) -> Iterator[Any]:
    """Every event in chain order, as plain rows, a batch at a time: what the Python walk of
    the chain (`verification.check_chain`) reads, to compare with PostgreSQL's own check."""
    table = table_of(AuditEvent)
    after = 0
    while True:
        rows = session.execute(
            sa.select(table).where(table.c.seq > after).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def rewrite_log(db, *, keep, drop_checkpoints: bool) -> None:  # type: ignore[no-untyped-def]
    """What an insider with the database (not the signer's key or its memory) does to make the
    log agree with an edited record: events not kept (`keep(seq, newest)`) removed with their
    leaves, the chain and the head moved, and every log rebuilt from the events as they now
    stand; with `drop_checkpoints`, every checkpoint that would show it deleted too."""
    from core.record import merkle
    from core.record.models import Log, LogCheckpoint, LogCursor, LogLeaf, LogTile
    from core.record.tiles import Tiles, entry

    with db.transaction() as session:
        newest = session.execute(sa.select(sa.func.max(AuditEvent.seq))).scalar_one()
        placed = {leaf.seq: leaf.log_id for leaf in session.exec(select(LogLeaf)).all()}
        session.execute(sa.delete(LogLeaf))
        session.execute(sa.delete(LogTile))
        gone = [s for s in range(1, newest + 1) if not keep(s, newest)]
        if gone:
            session.execute(sa.delete(AuditEvent).where(col(AuditEvent.seq).in_(gone)))
        if drop_checkpoints:
            session.execute(sa.delete(LogCheckpoint))
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        by_log: dict[int, list[AuditEvent]] = {}
        for event in events:
            if event.seq in placed:
                by_log.setdefault(placed[event.seq], []).append(event)
        for log in session.exec(select(Log)).all():
            assert log.id is not None
            joined = by_log.get(log.id, [])
            session.add_all(
                LogLeaf(seq=e.seq, log_id=log.id, leaf_index=i) for i, e in enumerate(joined)
            )
            tiles = Tiles(session, log.id)
            log.size = tiles.append(
                0, (merkle.leaf_hash(entry(e.seq, e.content_hash)) for e in joined)
            )
            tiles.flush()
            log.root, log.checked_size, log.problem = tiles.root(log.size), 0, None
            session.add(log)
        last = events[-1] if events else None
        head = session.get(AuditHead, 1)
        cursor = session.get(LogCursor, 1)
        assert head is not None
        assert cursor is not None
        head.seq, head.link_hash = (last.seq, last.link_hash) if last else (0, GENESIS)
        cursor.seq = max((s for s in placed if s not in gone), default=0)
        session.add_all([head, cursor])


def checked(client, headers: dict[str, str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The full check as a DSL sees it made now: asked for (as "Check it now" asks), made by the
    scheduler's chain_check job, and read from GET /audit/verify."""
    from contextlib import suppress

    from core import clock
    from core.errors import Conflict
    from core.record import full_check
    from scheduler.runner import run_job

    db, at = client.app.state.db, clock.now()
    with db.transaction() as session, suppress(Conflict):
        full_check.ask(session, asked_by=None, at=at)
    run_job("chain_check", db, client.app.state.settings, at)
    response = client.get("/audit/verify", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())
