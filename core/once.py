"""Once-only changes: a decision, a withdrawal, an ending, a review mark or a job's reminder is
claimed by exactly one of any number of concurrent callers, as one conditional UPDATE.

Two faces of the one claim: `took` says whether this caller got the row (a job moves on to the
next), `claim` tells a person who came too late (409)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, SQLModel

from core.db import table_of
from core.errors import Conflict


def took(
    session: Session,
    model: type[SQLModel],
    row_id: int | None,
    *,
    still: ColumnElement[bool],
    values: dict[str, Any],
) -> bool:
    """Set `values` on the row (by its primary key) only while `still` holds; True if this
    caller did.

    Reading the state and then writing it lets two callers both see "not yet" and both write;
    here the database decides. On PostgreSQL the second UPDATE waits for the first's row lock and
    then finds `still` false; on SQLite writers already take turns. Claim before recording the
    change, so that the loser's transaction has written nothing when it is refused.
    """
    [key] = table_of(model).primary_key.columns
    done = session.execute(update(model).where(key == row_id, still).values(**values))
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def claim(
    session: Session,
    model: type[SQLModel],
    row_id: int | None,
    *,
    still: ColumnElement[bool],
    values: dict[str, Any],
    too_late: str,
) -> None:
    """`took`, for a person: the one who came too late is told so (409), in `too_late`'s words."""
    if not took(session, model, row_id, still=still, values=values):
        raise Conflict(too_late)


def stamp_once(session: Session, column: Any, row_id: int | None, at: datetime) -> bool:
    """Set a "done at" column if nobody has: the claim that makes each occasion happen once."""
    return took(session, column.class_, row_id, still=column.is_(None), values={column.key: at})
