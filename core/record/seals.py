"""Records under the chain: the canonical content of each kept record, hashed. Every event that
creates or changes a record carries that hash (its details' "sealed"), so the chain vouches for
the records themselves, and verification finds a row edited, deleted or added by any path other
than the API, by record type and id."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlmodel import Session, SQLModel

from core import columns
from core.columns import SEALED
from core.db import table_of

if TYPE_CHECKING:
    from core.principal import Principal

BATCH = 5_000
# Columns added to kept tables after records had been sealed: one joins a record's content only
# once it holds a value, so the migration that adds it alters no record already on the chain.
ADDED_LATER = frozenset(
    {
        "redacted_at",
        "resolved_at",
        "resolved_by_id",
        "resolution",
        # A member of staff's leaving day; a trust's periods for concerns about adults.
        "left_on",
        "retention_low_level_years",
        "concern_review_weeks",
    }
)


@dataclass(frozen=True)
class Child:
    """Rows of another table that belong to the record (a message's pupils, say): their sealed
    columns (core/columns.py) go into the record's content, sorted, so adding or removing one
    changes it."""

    name: str
    model: type[SQLModel]
    parent: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kept:
    """A record type under the chain: its table, the rows of other tables that belong to it,
    and what its events name. Which columns are its content is the table's declaration
    (`core.columns`): every SEALED one."""

    name: str
    model: type[SQLModel]
    children: tuple[Child, ...] = ()
    columns: tuple[str, ...] = field(default=())
    # What every event about such a record names in its details, read from the record (a
    # hold's subject, a request's due date); `audit.record_change` adds it.
    named: Callable[[Any], dict[str, Any]] | None = None


KEPT: dict[str, Kept] = {}


def keep(kept: Kept) -> None:
    """Put a record type under the chain (each domain names its own, on import)."""
    children = tuple(
        replace(c, values=tuple(v for v in columns.having(c.model, SEALED) if v != c.parent))
        for c in kept.children
    )
    KEPT[kept.name] = replace(kept, columns=columns.having(kept.model, SEALED), children=children)


def kept_as(model: type[SQLModel]) -> Kept:
    """How a table is kept (`keep`): the name events give its records, what they name."""
    for kept in KEPT.values():
        if kept.model is model:
            return kept
    raise KeyError(f"{model.__name__} is not under the chain")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        # Stored times are UTC; a naive one read back from a database is UTC too.
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def digest(name: str, content: dict[str, Any]) -> str:
    """The hash of a record's content in its canonical form."""
    text = json.dumps(
        [name, {k: _plain(v) for k, v in content.items()}],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def content(
    kept: Kept, row: dict[str, Any], children: dict[str, list[list[Any]]]
) -> dict[str, Any]:
    found = {c: row[c] for c in kept.columns if not (c in ADDED_LATER and row.get(c) is None)}
    for child in kept.children:
        found[child.name] = sorted(children.get(child.name, []), key=lambda v: [str(x) for x in v])
    return found


def _children_of(
    conn: Connection, kept: Kept, ids: Sequence[int]
) -> dict[int, dict[str, list[list[Any]]]]:
    found: dict[int, dict[str, list[list[Any]]]] = defaultdict(dict)
    for child in kept.children:
        table = table_of(child.model)
        parent = table.c[child.parent]
        rows = conn.execute(
            sa.select(parent, *(table.c[v] for v in child.values)).where(parent.in_(ids))
        )
        for row in rows:
            found[row[0]].setdefault(child.name, []).append([_plain(v) for v in row[1:]])
    return found


def contents(
    conn: Connection, name: str, ids: Sequence[int] | None = None, *, after: int = 0
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(id, canonical content) of each record of the type as it stands now (of `ids`, or all
    with an id above `after`), in the order of their ids."""
    kept = KEPT[name]
    table = table_of(kept.model)
    key = table.c.id
    while True:
        query = sa.select(*(table.c[c] for c in kept.columns)).order_by(key).limit(BATCH)
        query = query.where(key.in_(list(ids))) if ids is not None else query.where(key > after)
        rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            return
        children = _children_of(conn, kept, [r["id"] for r in rows])
        for row in rows:
            found = content(kept, row, children.get(row["id"], {}))
            yield row["id"], {k: _plain(v) for k, v in found.items()}
        if ids is not None or len(rows) < BATCH:
            return
        after = rows[-1]["id"]


def current(
    conn: Connection, name: str, ids: Sequence[int] | None = None, *, after: int = 0
) -> Iterator[tuple[int, str]]:
    """(id, hash) of each record of the type as it stands now (of `ids`, or all with an id
    above `after`)."""
    for record_id, found in contents(conn, name, ids, after=after):
        yield record_id, digest(name, found)


def seal(session: Session, *records: tuple[str, int | None]) -> dict[str, str]:
    """The hashes of these records as they now stand, for an event's details: {"type:id": hash}.
    Pending changes are flushed first, so the hash is of what will be committed."""
    session.flush()
    conn = session.connection()
    wanted: dict[str, list[int]] = defaultdict(list)
    for name, record_id in records:
        if record_id is not None:
            wanted[name].append(record_id)
    sealed: dict[str, str] = {}
    for name, ids in wanted.items():
        for record_id, hashed in current(conn, name, ids):
            sealed[f"{name}:{record_id}"] = hashed
    return sealed


@dataclass(frozen=True)
class Altered:
    record_type: str
    record_id: int
    # edited: its content is not what its latest event sealed; deleted: sealed, and gone;
    # unrecorded: a row no event ever sealed (added, or sealed under another id).
    change: str


RESEAL_BATCH = 1_000


def reseal(session: Session, name: str, *, actor: Principal, at: datetime, why: str) -> int:
    """Seal every record of a type as it now stands, in events of their own (grouped by school
    where the record has one): for a migration that puts a type under the chain, or adds to
    what a type's content holds, so that verification judges the records from then on. The
    change itself is in the record, with its reason. Returns how many records were sealed."""
    from core.record import audit  # the change record writes; this module only reads records

    table = table_of(KEPT[name].model)
    conn = session.connection()
    school_of: dict[int, int | None] = {}
    if "school_id" in table.c:
        school_of = {i: s for i, s in conn.execute(sa.select(table.c.id, table.c.school_id))}
    by_school: dict[int | None, list[tuple[str, str]]] = defaultdict(list)
    for record_id, hashed in current(conn, name):
        by_school[school_of.get(record_id)].append((f"{name}:{record_id}", hashed))
    for school_id, sealed in sorted(by_school.items(), key=lambda kv: kv[0] or 0):
        for start in range(0, len(sealed), RESEAL_BATCH):
            audit.record(
                session,
                actor=actor,
                at=at,
                action="records.sealed",
                object_type=name,
                object_id=None,
                school_id=school_id,
                details={"why": why},
                sealed=dict(sealed[start : start + RESEAL_BATCH]),
            )
    return sum(len(s) for s in by_school.values())
