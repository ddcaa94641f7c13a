"""The change record: every state change as a hash-chained event that anyone can verify."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Column, Text, bindparam, update
from sqlalchemy import event as orm_event
from sqlmodel import Field, Session, SQLModel, col, select

from core.auth import Principal
from core.clock import now
from core.db import UTCDateTime, table_of

GENESIS = "0" * 64
_sha256 = hashlib.sha256
PENDING = "contactlog_audit_pending"


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, index=True)
    school_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: int | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # The content is hashed apart from the chain, so erasing personal content under the
    # retention schedule leaves every link checkable.
    content_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    link_hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's newest link; appending locks this one row, so writers can never fork."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    link_hash: str = Field(default=GENESIS, max_length=64)


class AuditPending(SQLModel, table=True):
    """PostgreSQL: one transaction's events, linked into the chain as that transaction commits.

    A deferred trigger does the linking inside COMMIT (migration `f41c8b7d2e95`), so the head
    is never locked while the application is still on its way to committing.
    """

    __tablename__ = "audit_pending"

    id: int | None = Field(default=None, primary_key=True)
    events: str = Field(sa_column=Column(Text, nullable=False))


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


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    first_bad: int | None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def content_hash_of(event: Any) -> str:
    """The hash of one event's content: its fields joined by a separator no input may hold
    (control characters are refused at the edge), so nothing needs re-encoding to verify.
    A missing value is written as NUL; the time as `datetime.isoformat()` in UTC."""
    return _content_digest(
        event.at.isoformat(),
        event.actor_id,
        event.school_id,
        event.action,
        event.object_type,
        event.object_id,
        event.reason,
        event.details,
    )


def _content_digest(
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
    action: str,
    object_type: str,
    object_id: int | None,
    school_id: int | None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record one event in the caller's transaction; it commits or vanishes with the change.

    The event joins the chain when the transaction commits (see `_link_pending`), so the
    chain's head is locked only for the commit itself, not for the rest of the request.
    """
    pending: list[dict[str, Any]] = session.info.setdefault(PENDING, [])
    pending.append(
        {
            "at": now().astimezone(UTC),
            "actor_id": actor.staff_id,
            "school_id": school_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "reason": reason,
            "details": _canonical(details or {}),
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
    contents = [
        {**values, "content_hash": content_hash_of(_Content(**values))} for values in pending
    ]
    if conn.dialect.name == "postgresql":
        conn.execute(_LINK_AT_COMMIT, {"events": json.dumps(contents, default=_iso)})
        return
    head = conn.execute(_ADVANCE_HEAD, {"count": len(pending)}).first()
    if head is None:
        raise RuntimeError("The change record has no head row; run `contactlog migrate`.")
    seq, prev = head.seq - len(pending), head.link_hash
    rows = []
    for content in contents:
        seq += 1
        link = link_hash_of(seq, prev, content["content_hash"])
        rows.append({**content, "seq": seq, "prev_hash": prev, "link_hash": link})
        prev = link
    conn.execute(_INSERT_EVENTS, rows)
    conn.execute(_SET_HEAD_LINK, {"link": prev})


def _iso(value: datetime) -> str:
    return value.isoformat()


@dataclass(frozen=True)
class _Content:
    at: datetime
    actor_id: int | None
    school_id: int | None
    action: str
    object_type: str
    object_id: int | None
    reason: str | None
    details: str


@orm_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


def _events(session: Session, batch: int = 20_000) -> Iterator[Any]:
    """Every event in chain order, as plain rows, a batch at a time: memory stays flat."""
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


def verify(session: Session) -> VerifyResult:
    """Walk the chain from its start; the first event whose content or link does not match."""
    head = session.get(AuditHead, 1)
    head_seq, head_link = (head.seq, head.link_hash) if head else (0, GENESIS)
    if session.connection().dialect.name == "postgresql":
        return _verify_on_server(session, head_seq=head_seq, head_link=head_link)
    return _verify_stored_rows(session, head_seq=head_seq, head_link=head_link)


_STORED_EVENTS = (
    "SELECT seq, at, actor_id, school_id, action, object_type, object_id, reason, details,"
    " content_hash, prev_hash, link_hash FROM audit_event ORDER BY seq"
)


def _verify_stored_rows(session: Session, *, head_seq: int, head_link: str) -> VerifyResult:
    """`check_chain` over the rows as SQLite stores them, read straight from its driver.

    SQLite has no SHA-256 to hash next to the data, so the hashing is Python's; what is saved
    is the rest of each row's cost (typed rows, parsing each time into a datetime only to
    print it again), which was most of it. The same checks as `check_chain`; a test compares
    the two on untouched and tampered chains.
    """
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_STORED_EVENTS)
        prev, expected = GENESIS, 1
        while rows := cursor.fetchmany(20_000):
            for row in rows:
                # seq, at, the six other fields hashed, then content_hash, prev_hash, link_hash
                seq, content, prev_hash, link = row[0], row[9], row[10], row[11]
                try:
                    good = (
                        seq == expected
                        and prev_hash == prev
                        and content == _content_digest(_stamp_of_stored(row[1]), *row[2:9])
                        and link == link_hash_of(seq, prev, content)
                    )
                except (TypeError, ValueError):  # a value of the wrong type: edited by hand
                    good = False
                if not good:
                    return VerifyResult(ok=False, checked=expected - 1, first_bad=expected)
                prev = link
                expected += 1
    finally:
        cursor.close()
    checked = expected - 1
    if head_seq != checked or head_link != prev:
        return VerifyResult(ok=False, checked=checked, first_bad=checked + 1)
    return VerifyResult(ok=True, checked=checked, first_bad=None)


def _stamp_of_stored(at: str) -> str:
    """`datetime.isoformat()` of a time as SQLite holds it ("2026-11-24 09:30:00.250000", UTC)."""
    if len(at) == 26 and at[10] == " " and at[19] == ".":
        return f"{at[:10]}T{at[11:19] if at.endswith('000000') else at[11:]}+00:00"
    value = datetime.fromisoformat(at)
    return (
        value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    ).isoformat()


# The same checks as `check_chain`, with the hashing done by PostgreSQL (in C, next to the data)
# rather than row by row in Python: `content_hash_of` and `link_hash_of` written in SQL. The
# tamper tests run against both, and a test compares them on the same chain.
_CHECK_ON_SERVER = sa.text(
    """
    SELECT
        min(position) FILTER (WHERE seq <> position OR NOT good) AS first_bad,
        count(*) AS total,
        (SELECT link_hash FROM audit_event ORDER BY seq DESC LIMIT 1) AS last_link
    FROM (
        SELECT
            seq,
            row_number() OVER (ORDER BY seq) AS position,
            prev_hash = lag(link_hash, 1, :genesis) OVER (ORDER BY seq)
            AND content_hash = encode(sha256(
                convert_to(
                    replace(to_char(at AT TIME ZONE 'UTC', :stamp), '.000000', '') || :utc || :sep,
                    'UTF8')
                || coalesce(convert_to(actor_id::text, 'UTF8'), :nul)
                || convert_to(:sep, 'UTF8')
                || coalesce(convert_to(school_id::text, 'UTF8'), :nul)
                || convert_to(:sep || action || :sep || object_type || :sep, 'UTF8')
                || coalesce(convert_to(object_id::text, 'UTF8'), :nul)
                || convert_to(:sep, 'UTF8')
                || coalesce(convert_to(reason, 'UTF8'), :nul)
                || convert_to(:sep || details, 'UTF8')
            ), 'hex')
            AND link_hash = encode(
                sha256(convert_to(seq::text || ':' || prev_hash || ':' || content_hash, 'UTF8')),
                'hex'
            ) AS good
        FROM audit_event
    ) AS checked
    """
).bindparams(
    sa.bindparam("sep", "\x1f"),
    sa.bindparam("nul", b"\x00", type_=sa.LargeBinary),
    # isoformat(): microseconds only when there are some
    sa.bindparam("stamp", 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    sa.bindparam("utc", "+00:00"),
    sa.bindparam("genesis", GENESIS),
)


def _verify_on_server(session: Session, *, head_seq: int, head_link: str) -> VerifyResult:
    found = session.connection().execute(_CHECK_ON_SERVER).one()
    if found.first_bad is not None:
        return VerifyResult(ok=False, checked=found.first_bad - 1, first_bad=found.first_bad)
    checked, last = int(found.total), found.last_link or GENESIS
    if head_seq != checked or head_link != last:
        return VerifyResult(ok=False, checked=checked, first_bad=checked + 1)
    return VerifyResult(ok=True, checked=checked, first_bad=None)


def check_chain(events: Iterable[Any], *, head_seq: int, head_link: str) -> VerifyResult:
    """The verification itself, over events in the order they are stored."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for event in events:
        good = (
            event.seq == expected_seq
            and event.prev_hash == prev
            and event.content_hash == content_hash_of(event)
            and event.link_hash == link_hash_of(event.seq, prev, event.content_hash)
        )
        if not good:
            return VerifyResult(ok=False, checked=checked, first_bad=expected_seq)
        checked += 1
        prev = event.link_hash
        expected_seq += 1
    if head_seq != checked or head_link != prev:
        # Events cut from the end of the chain: the head still remembers them.
        return VerifyResult(ok=False, checked=checked, first_bad=checked + 1)
    return VerifyResult(ok=True, checked=checked, first_bad=None)


@dataclass(frozen=True)
class EventFilter:
    school_ids: list[int] | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    actor_id: int | None = None


def list_events(
    session: Session, *, where: EventFilter, after: int | None, limit: int
) -> list[AuditEvent]:
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
    if after is not None:
        query = query.where(AuditEvent.seq > after)
    return list(session.exec(query.order_by(col(AuditEvent.seq)).limit(limit + 1)).all())


def public(event: AuditEvent) -> AuditEventPublic:
    return AuditEventPublic(
        **event.model_dump(exclude={"details", "content_hash", "prev_hash"}),
        details=json.loads(event.details),
    )
