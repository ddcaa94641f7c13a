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
