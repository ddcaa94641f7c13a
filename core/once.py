"""Once-only changes: a decision, a withdrawal, an ending or a review mark is claimed by exactly one
of any number of concurrent callers; every other one is told it came too late (409)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, SQLModel

from core.errors import Conflict


def claim(
    session: Session,
    model: type[SQLModel],
    row_id: int | None,
    *,
    still: ColumnElement[bool],
    values: dict[str, Any],
    too_late: str,
) -> None:
    """Set `values` on the row only while `still` holds, as one conditional UPDATE.

    Reading the state and then writing it lets two requests both see "not yet" and both write;
    here the database decides. On PostgreSQL the second UPDATE waits for the first's row lock and
    then finds `still` false; on SQLite writers already take turns. Claim before recording the
    change, so that the loser's transaction has written nothing when it is refused.
    """
    key = model.id  # type: ignore[attr-defined]
    claimed = session.execute(update(model).where(key == row_id, still).values(**values))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(too_late)
