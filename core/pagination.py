"""Cursor pagination: opaque cursors over a stable key, so pages never skip or repeat a row."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from core.errors import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: Any) -> str:
    raw = json.dumps({"after": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The key after which the next page starts, or None for the first page."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return data["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            "The cursor is not one this server issued.",
            extra={"errors": [{"field": "cursor", "message": "unrecognised cursor"}]},
        ) from exc


def decode_int_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    # A key the database's integer columns can hold: anything else was not issued here.
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < 2**63:
        raise InvalidInput(
            "The cursor is not one this server issued.",
            extra={"errors": [{"field": "cursor", "message": "unrecognised cursor"}]},
        )
    return key


def fetch_page(
    session: Session,
    query: SelectOfScalar[Any],
    id_column: Any,
    *,
    cursor: str | None,
    limit: int,
    newest_first: bool = False,
    key: str = "id",
) -> Page[Any]:
    """The page of `query` after `cursor`, in id order (or newest first): the one paginator.

    It fetches one row past the limit, which only says whether there is more; the cursor is
    the last key shown (`key`: the attribute `id_column` maps to), so a page never shifts as rows
    are added."""
    bound = decode_int_cursor(cursor)
    if bound is not None:
        query = query.where(id_column < bound if newest_first else id_column > bound)
    order = id_column.desc() if newest_first else id_column
    rows = list(session.exec(query.order_by(order).limit(limit + 1)).all())
    more = len(rows) > limit
    shown = rows[:limit]
    last = getattr(shown[-1], key) if shown else None
    return Page(items=shown, next_cursor=encode_cursor(last) if more and shown else None)
