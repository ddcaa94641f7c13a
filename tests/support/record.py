"""What an insider with database access does to the change record, for tests that catch it."""

from __future__ import annotations

from sqlmodel import col, select

from core import audit


def recompute_from(db, seq: int) -> None:  # type: ignore[no-untyped-def]
    """What an insider with database access does after editing an event: every content hash
    and link from there on made anew, and the head moved, so the chain checks out by itself."""
    with db.transaction() as session:
        events = session.exec(
            select(audit.AuditEvent).where(col(audit.AuditEvent.seq) >= seq).order_by("seq")
        ).all()
        before = session.get(audit.AuditEvent, seq - 1)
        prev = before.link_hash if before else audit.GENESIS
        for event in events:
            event.content_hash = audit.content_hash_of(event)
            event.prev_hash = prev
            event.link_hash = audit.link_hash_of(event.seq, prev, event.content_hash)
            prev = event.link_hash
            session.add(event)
        head = session.get(audit.AuditHead, 1)
        assert head is not None
        head.link_hash = prev
        session.add(head)
