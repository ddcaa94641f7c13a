"""The change record: every state change as a hash-chained event that anyone can verify."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import bindparam, update
from sqlalchemy import event as orm_event
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.db import table_of
from core.principal import Principal
from core.record import seals
from core.record.models import AuditEvent, AuditHead, AuditPending

_sha256 = hashlib.sha256
PENDING = "contactlog_audit_pending"


class AuditEventPublic(BaseModel):
    seq: int
    at: datetime
    actor_id: int | None
    school_id: int | None
    action: str
    object_type: str
    object_id: int | None
    reason: str | None
    details: dict[str, Any]
    link_hash: str


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# How an event's details are written before hashing: what a check outside contactlog redoes.
canonical = _canonical


def content_hash_of(event: Any) -> str:
    """The hash of one event's content: its fields joined by a separator no input may hold
    (control characters are refused at the edge), so nothing needs re-encoding to verify.
    A missing value is written as NUL; the time as `datetime.isoformat()` in UTC."""
    return content_digest(
        event.at.isoformat(),
        event.actor_id,
        event.school_id,
        event.action,
        event.object_type,
        event.object_id,
        event.reason,
        event.details,
    )


def content_digest(
    stamp: str,
    actor: int | None,
    school: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    reason: str | None,
    details: str,
) -> str:
    # Verification runs this for every event, hence the plain, unrolled code.
    content = "\x1f".join(
        (
            stamp,
            "\x00" if actor is None else str(actor),
            "\x00" if school is None else str(school),
            action,
            object_type,
            "\x00" if object_id is None else str(object_id),
            "\x00" if reason is None else reason,
            details,
        )
    )
    return _sha256(content.encode()).hexdigest()


def link_hash_of(seq: int, prev_hash: str, content_hash: str) -> str:
    return _sha256(f"{seq}:{prev_hash}:{content_hash}".encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: Principal,
    at: datetime,
    action: str,
    object_type: str,
    object_id: int | None,
    school_id: int | None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    sealed: dict[str, str] | None = None,
) -> None:
    """Record one event in the caller's transaction; it commits or vanishes with the change.
    `sealed` holds the hashes of the records the change created or changed, as they now stand
    (`core.record.seals.seal`): the chain then vouches for their content too. Personal free text
    (a reason someone typed, a note) stays in the record, never in `reason` or `details`: the
    retention job can redact a record and seal its new form, but no event can be changed.

    The event joins the chain when the transaction commits (see `_link_pending`), so the
    chain's head is locked only for the commit itself, not for the rest of the request.
    """
    if sealed:
        details = {**(details or {}), "sealed": sealed}
    if actor.staff_id is None:  # no account acted: say who did
        details = {**(details or {}), "by": actor.kind}
    at, text = at.astimezone(UTC), _canonical(details or {})
    pending: list[dict[str, Any]] = session.info.setdefault(PENDING, [])
    pending.append(
        {
            "at": at,
            "actor_id": actor.staff_id,
            "school_id": school_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "reason": reason,
            "details": text,
            "content_hash": content_digest(
                at.isoformat(),
                actor.staff_id,
                school_id,
                action,
                object_type,
                object_id,
                reason,
                text,
            ),
        }
    )


_head = table_of(AuditHead)
_ADVANCE_HEAD = (
    update(_head)
    .where(_head.c.id == 1)
    .values(seq=_head.c.seq + bindparam("count"))
    .returning(_head.c.seq, _head.c.link_hash)
)
_SET_HEAD_LINK = update(_head).where(_head.c.id == 1).values(link_hash=bindparam("link"))
_INSERT_EVENTS = table_of(AuditEvent).insert()
_LINK_AT_COMMIT = table_of(AuditPending).insert()


def record_change(
    session: Session,
    *,
    actor: Principal,
    at: datetime,
    action: str,
    of: SQLModel,
    also: Sequence[tuple[str, int | None]] = (),
    details: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """The event for a change to one kept record, `of`: its type, id and school read from the
    record, and the record sealed as it now stands (with `also` these others the change touched).
    Every domain records its changes through this, not a wrapper of its own."""
    kept = seals.kept_as(type(of))
    name, record_id = kept.name, getattr(of, "id", None)
    if kept.named is not None:
        details = {**kept.named(of), **(details or {})}
    record(
        session,
        actor=actor,
        at=at,
        action=action,
        object_type=name,
        object_id=record_id,
        school_id=getattr(of, "school_id", None),
        reason=reason,
        details=details,
        sealed=seals.seal(session, (name, record_id), *also),
    )


@orm_event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    """Append this transaction's events to the chain, in order, as it commits.

    Appending locks the chain's head until the commit, so concurrent writers queue there and
    can never fork the chain. On PostgreSQL the events are handed to the server, which links
    them inside COMMIT itself (a deferred trigger on `audit_pending`), so the head row is
    locked for no client round trip. On SQLite they are linked here, under the write lock the
    transaction already holds, after the ORM's pending changes are flushed.
    """
    pending: list[dict[str, Any]] = session.info.pop(PENDING, [])
    if not pending:
        return
    session.flush()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_LINK_AT_COMMIT, {"events": json.dumps(pending, default=_iso)})
        return
    head = conn.execute(_ADVANCE_HEAD, {"count": len(pending)}).first()
    if head is None:
        raise RuntimeError("The change record has no head row; run `contactlog migrate`.")
    seq, prev = head.seq - len(pending), head.link_hash
    rows = []
    for event in pending:
        seq += 1
        link = link_hash_of(seq, prev, event["content_hash"])
        rows.append({**event, "seq": seq, "prev_hash": prev, "link_hash": link})
        prev = link
    conn.execute(_INSERT_EVENTS, rows)
    conn.execute(_SET_HEAD_LINK, {"link": prev})


def _iso(value: datetime) -> str:
    return value.isoformat()


@orm_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


@dataclass(frozen=True)
class EventFilter:
    school_ids: list[int] | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    actor_id: int | None = None


def events_query(where: EventFilter) -> SelectOfScalar[AuditEvent]:
    """The events matching `where`, for paging in order of the chain."""
    query = select(AuditEvent)
    if where.school_ids is not None:
        query = query.where(col(AuditEvent.school_id).in_(where.school_ids))
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.object_type:
        query = query.where(AuditEvent.object_type == where.object_type)
    if where.object_id is not None:
        query = query.where(AuditEvent.object_id == where.object_id)
    if where.actor_id is not None:
        query = query.where(AuditEvent.actor_id == where.actor_id)
    return query


def public(event: AuditEvent) -> AuditEventPublic:
    return AuditEventPublic(
        **event.model_dump(exclude={"details", "content_hash", "prev_hash"}),
        details=json.loads(event.details),
    )
