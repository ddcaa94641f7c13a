"""Cursor pagination: opaque cursors over a stable key, so pages never skip or repeat a row."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
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


def page_by_id(rows: Sequence[Any], limit: int) -> Page[Any]:
    """A page from `limit + 1` rows fetched in id order: the extra row only says there is more."""
    more = len(rows) > limit
    shown = list(rows[:limit])
    return Page(items=shown, next_cursor=encode_cursor(shown[-1].id) if more and shown else None)


def after_id(query: SelectOfScalar[Any], id_column: Any, cursor: str | None, limit: int) -> Any:
    """The query narrowed to the page after `cursor`, in id order, one row past the limit."""
    after = decode_int_cursor(cursor)
    if after is not None:
        query = query.where(id_column > after)
    return query.order_by(id_column).limit(limit + 1)
