"""Redaction: a record's personal content (names, free text, verbatim messages, contact details)
replaced, its skeleton kept (who, when, which pupils by id, flags), and the redacted form sealed
by an event in the change record so verification still passes, and fails after anything else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col

from contacts.capture.models import CaptureFile
from contacts.concerns.models import ConcernAttachment, ConcernFile
from contacts.data_protection.retention.schedule import chunks
from core import columns
from core.columns import PERSONAL
from core.db import table_of
from core.directory.models import Guardian, Pupil
from core.principal import Principal
from core.record import audit, seals

REDACTED = "[redacted]"
# Events seal this many records each: the change record grows by a few events per run.
SEALED_PER_EVENT = 200


def _as_id_reference(table: sa.Table) -> Any:
    # A pupil's reference must stay unique in its school: the reference goes, one made from
    # the id takes its place.
    return sa.literal("redacted-") + sa.cast(table.c.id, sa.String)


# Personal columns (core/columns.py: PERSONAL) are replaced by "[redacted]", and an empty one
# stays empty, so the skeleton still says whether there was, say, a rejection reason. A date
# keeps its year (a date of birth, for statistics by age). These are replaced otherwise, because
# "[redacted]" would break the record: an address that must be one, a unique reference.
OTHERWISE: dict[tuple[type[SQLModel], str], Callable[[sa.Table], Any]] = {
    (Guardian, "email"): lambda table: None,
    (Pupil, "school_reference"): _as_id_reference,
}


def _files_removed(session: Session, upload_ids: Sequence[int]) -> None:
    """An upload's file itself (its SHA-256 stays sealed in the upload)."""
    session.execute(
        sa.update(CaptureFile)
        .where(col(CaptureFile.upload_id).in_(list(upload_ids)))
        .values(data=None)
    )


def _attachments_removed(session: Session, concern_ids: Sequence[int]) -> None:
    """A concern's attached files themselves (each one's SHA-256 stays sealed)."""
    session.execute(
        sa.update(ConcernFile)
        .where(
            col(ConcernFile.attachment_id).in_(
                sa.select(col(ConcernAttachment.id)).where(
                    col(ConcernAttachment.concern_id).in_(list(concern_ids))
                )
            )
        )
        .values(data=None)
    )


# What goes with a record's personal columns that is not one of them.
ALSO: dict[str, Callable[[Session, Sequence[int]], None]] = {
    "capture_upload": _files_removed,
    "concern": _attachments_removed,
}


def personal() -> dict[str, tuple[type[SQLModel], tuple[str, ...]]]:
    """Every record type with personal content: its table and those columns, from the tables'
    declarations (in the order the types were put under the chain)."""
    found = {}
    for name, kept in seals.KEPT.items():
        where = columns.having(kept.model, PERSONAL)
        if where or any(columns.having(c.model, PERSONAL) for c in kept.children):
            found[name] = (kept.model, where)
    return found


def _dates(table: sa.Table, names: Sequence[str]) -> list[str]:
    return [n for n in names if isinstance(table.c[n].type, sa.Date)]


def _replaced(model: type[SQLModel], table: sa.Table, names: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in set(names) - set(_dates(table, names)):
        how = OTHERWISE.get((model, name))
        if how is not None:
            values[name] = how(table)
        else:
            column = table.c[name]
            values[name] = sa.case((column.is_(None), None), else_=sa.literal(REDACTED))
    return values


def _redact(session: Session, record_type: str, ids: Sequence[int], at: datetime) -> None:
    kept = seals.KEPT[record_type]
    table = table_of(kept.model)
    values = _replaced(kept.model, table, columns.having(kept.model, PERSONAL))
    values["redacted_at"] = at
    session.execute(sa.update(table).where(table.c.id.in_(list(ids))).values(values))
    if record_type in ALSO:
        ALSO[record_type](session, ids)
    for name in _dates(table, columns.having(kept.model, PERSONAL)):
        column = table.c[name]
        born = session.execute(sa.select(table.c.id, column).where(table.c.id.in_(list(ids))))
        for record_id, day in born.all():
            if day is not None:
                session.execute(
                    sa.update(table)
                    .where(table.c.id == record_id)
                    .values({name: date(day.year, 1, 1)})
                )
    for child in kept.children:
        # A record's own rows in other tables (a pupil's part in a contact, with why it ended).
        names = columns.having(child.model, PERSONAL)
        if names:
            rows = table_of(child.model)
            session.execute(
                sa.update(rows)
                .where(rows.c[child.parent].in_(list(ids)))
                .values(_replaced(child.model, rows, names))
            )


def redact(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    run_id: int,
    due: dict[tuple[int, str], list[int]],
) -> None:
    """Redact every due record, each batch sealed by a `retention.redacted` event of its school."""
    for record_type in personal():
        for (school_id, kind), ids in sorted(due.items()):
            if kind != record_type:
                continue
            for part in chunks(sorted(ids)):
                for batch in _batches(part):
                    _redact(session, record_type, batch, at)
                    audit.record(
                        session,
                        actor=actor,
                        at=at,
                        action="retention.redacted",
                        object_type="retention_run",
                        object_id=run_id,
                        school_id=school_id,
                        details={"record_type": record_type, "count": len(batch)},
                        sealed=seals.seal(session, *((record_type, i) for i in batch)),
                    )


def _batches(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + SEALED_PER_EVENT] for i in range(0, len(ids), SEALED_PER_EVENT)]
