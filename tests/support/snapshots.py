"""Scenes built once per database and day, then loaded row for row before each test that asks.

Building the people of a trust (eleven accounts, hashed passwords) and a scene of one of each
record (~25 requests) costs far more than the test that uses them. The first test to ask builds
the scene through the app as before; its rows are copied out; every later test gets the same rows
back in one insert per table, and fresh tokens. Nothing a test sees differs: the rows are the
ones the app wrote, ids included.

A snapshot is only loaded on the state it was built on: the state is fingerprinted (every table's
row count and the change record's head) before each build and each load, and a test whose own
fixtures wrote first gets its scene built afresh on top of what they wrote, as before."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, literal, select, union_all
from sqlmodel import SQLModel

from core.db import Database
from core.record.models import AuditHead

T = TypeVar("T")
Rows = dict[str, list[dict[str, Any]]]


@dataclass
class _Kept:
    built_on: tuple[Any, ...]  # the fingerprint of the state the scene was built on
    rows: Rows
    value: Any


class Snapshots:
    """The scenes of one database, by name and day."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._kept: dict[tuple[str, Any], _Kept] = {}

    def scene(self, name: str, day: Any, build: Callable[[], T]) -> T:
        """The scene `name` as of `day`: built by `build` the first time, loaded afterwards."""
        now = self.fingerprint()
        kept = self._kept.get((name, day))
        if kept is not None and kept.built_on == now:
            self._load(kept.rows)
            return copy.deepcopy(kept.value)  # type: ignore[no-any-return]
        value = build()
        if kept is None:
            self._kept[(name, day)] = _Kept(now, self._dump(), copy.deepcopy(value))
        return value

    def fingerprint(self) -> tuple[Any, ...]:
        """Every table's row count, and the change record's head, in one statement."""
        tables = SQLModel.metadata.sorted_tables
        counts = union_all(
            *(
                select(literal(t.name).label("name"), func.count().label("n")).select_from(t)
                for t in tables
            )
        )
        with self._db.engine.connect() as conn:
            rows = sorted((str(name), int(n)) for name, n in conn.execute(counts))
            head = conn.execute(select(AuditHead.seq, AuditHead.link_hash)).first()  # type: ignore[call-overload]
        return (tuple(rows), tuple(head) if head is not None else None)

    def _dump(self) -> Rows:
        with self._db.engine.connect() as conn:
            return {
                # In key order: a row referring to its own table (a line manager) comes after
                # the row it refers to, as it was written.
                t.name: [
                    dict(r._mapping)
                    for r in conn.execute(t.select().order_by(*t.primary_key.columns))
                ]
                for t in SQLModel.metadata.sorted_tables
            }

    def _load(self, rows: Rows) -> None:
        tables = SQLModel.metadata.sorted_tables
        with self._db.engine.begin() as conn:
            for table in reversed(tables):
                conn.execute(table.delete())
            for table in tables:
                if rows[table.name]:
                    conn.execute(table.insert(), rows[table.name])
