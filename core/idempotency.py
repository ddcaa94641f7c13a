"""Idempotency keys: a retried create returns the first response instead of making a second row."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from core.db import table_of
from core.errors import Conflict, InvalidInput
from core.models import MAX_KEY_LENGTH, IdempotencyKey

KEEP_FOR = timedelta(hours=48)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


_table = table_of(IdempotencyKey)
_mine = (_table.c.staff_id == bindparam("staff_id")) & (_table.c.key == bindparam("key"))
_STORED = select(
    _table.c.endpoint,
    _table.c.request_hash,
    _table.c.status_code,
    _table.c.response_body,
    _table.c.expires_at,
).where(_mine)
_FORGET = delete(_table).where(_mine)
_attempt = select(
    func.pg_try_advisory_xact_lock(bindparam("lock", type_=BigInteger)).label("locked")
).subquery("attempt")
_LOCK_AND_READ = select(_attempt.c.locked, *_STORED.selected_columns).select_from(
    _attempt.outerjoin(_table, _attempt.c.locked & _mine)
)
# A key stored concurrently (only if the advisory lock was bypassed) returns no row.
_STORE_POSTGRESQL = postgresql_insert(_table).on_conflict_do_nothing().returning(_table.c.key)
_STORE_SQLITE = sqlite_insert(_table).on_conflict_do_nothing().returning(_table.c.key)


def fingerprint(endpoint: str, payload: Any) -> str:
    canonical = json.dumps([endpoint, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            extra={"errors": [{"field": "Idempotency-Key", "in": "header", "message": "invalid"}]},
        )
    return key


def begin(
    session: Session, *, staff_id: int, key: str, endpoint: str, request_hash: str, at: datetime
) -> StoredResponse | None:
    """The stored response of an earlier identical request, or None to go ahead and create.

    Called inside the request's transaction. On PostgreSQL a transaction-scoped advisory lock
    on the key makes a concurrent duplicate fail fast with 409 rather than wait; on SQLite the
    write lock already serialises requests, so a duplicate simply sees the finished first one.
    """
    conn = session.connection()
    mine = {"staff_id": staff_id, "key": key}
    if conn.dialect.name == "postgresql":
        lock = int.from_bytes(
            hashlib.sha256(f"{staff_id}:{key}".encode()).digest()[:8], "big", signed=True
        )
        # One round trip: take the lock, read the key. Should the first request commit after
        # this statement's snapshot but before the lock, the stored key is not seen; storing it
        # again then conflicts (see `finish`), so a duplicate is refused, never created.
        attempt = conn.execute(_LOCK_AND_READ, {**mine, "lock": lock}).one()
        if not attempt.locked:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            )
        existing = attempt if attempt.endpoint is not None else None
    else:
        existing = conn.execute(_STORED, mine).first()
    if existing is None:
        return None
    if existing.expires_at <= at:
        conn.execute(_FORGET, mine)
        return None
    if existing.endpoint != endpoint or existing.request_hash != request_hash:
        raise InvalidInput(
            "This Idempotency-Key was already used for a different request.",
            extra={"errors": [{"field": "Idempotency-Key", "in": "header", "message": "reused"}]},
        )
    return StoredResponse(existing.status_code, json.loads(existing.response_body))


def finish(
    session: Session,
    *,
    staff_id: int,
    key: str,
    endpoint: str,
    request_hash: str,
    status_code: int,
    body: Any,
    at: datetime,
) -> None:
    """Keep the response with the created record, in the same transaction."""
    conn = session.connection()
    store = _STORE_POSTGRESQL if conn.dialect.name == "postgresql" else _STORE_SQLITE
    stored = conn.execute(
        store,
        {
            "staff_id": staff_id,
            "key": key,
            "endpoint": endpoint,
            "request_hash": request_hash,
            "status_code": status_code,
            "response_body": json.dumps(body, default=str),
            "created_at": at,
            "expires_at": at + KEEP_FOR,
        },
    ).first()
    if stored is None:  # only if the lock above was bypassed; never create twice
        raise Conflict("A request with this Idempotency-Key was completed concurrently.")
