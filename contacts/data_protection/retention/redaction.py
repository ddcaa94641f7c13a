"""Redaction: a record's personal content (names, free text, verbatim messages, contact details)
replaced, its skeleton kept (who, when, which pupils by id, flags), and the redacted form sealed
by an event in the change record so verification still passes, and fails after anything else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from consent.models import Consent, ConsentRequest, ParentNotice
from contacts.data_protection.retention.schedule import chunks
from contacts.incidents.models import Incident
from contacts.models import Contact, ContactPupil, DeletionTask, Message
from contacts.oversight.review.models import MessageReview
from core.db import table_of
from core.directory.models import Guardian, Pupil
from core.principal import Principal
from core.record import audit, seals

REDACTED = "[redacted]"

# Per record type: its table and the columns that hold personal content. A column that is
# empty stays empty, so the skeleton still says whether there was, say, a rejection reason.
PERSONAL: dict[str, tuple[type[SQLModel], tuple[str, ...]]] = {
    "contact": (
        Contact,
        ("school_account", "purpose", "conditions", "decision_note", "rejection_reason"),
    ),
    "message": (Message, ("summary", "verbatim", "amend_reason")),
    "message_review": (MessageReview, ("note",)),
    "deletion_task": (DeletionTask, ("how",)),
    "consent": (Consent, ("evidence_reference", "withdrawal_reason")),
    "consent_request": (ConsentRequest, ("decline_reason",)),
    "parent_notice": (ParentNotice, ("informed_by", "reason_explained")),
    "incident": (Incident, ("what_happened", "other_person", "outcome")),
    "pupil": (Pupil, ("given_name", "family_name")),
    "guardian": (Guardian, ("name",)),
}
# Records whose parent goes first; a record type's children are redacted with it.
ORDER = tuple(PERSONAL)
# Events seal this many records each: the change record grows by a few events per run.
SEALED_PER_EVENT = 200


def _blank(table: sa.Table, name: str) -> Any:
    column = table.c[name]
    return sa.case((column.is_(None), None), else_=sa.literal(REDACTED))


def _redact(session: Session, record_type: str, ids: Sequence[int], at: datetime) -> None:
    model, columns = PERSONAL[record_type]
    table = table_of(model)
    values: dict[str, Any] = {name: _blank(table, name) for name in columns}
    values["redacted_at"] = at
    if record_type == "pupil":
        # The reference must stay unique in its school; the name and reference go.
        values["school_reference"] = sa.literal("redacted-") + sa.cast(table.c.id, sa.String)
    if record_type == "guardian":
        values["email"] = None
    session.execute(sa.update(table).where(table.c.id.in_(list(ids))).values(values))
    if record_type == "contact":
        parts = table_of(ContactPupil)
        session.execute(
            sa.update(parts)
            .where(parts.c.contact_id.in_(list(ids)))
            .values(end_reason=_blank(parts, "end_reason"))
        )
    if record_type == "pupil":
        # The year of birth stays for statistics by age; the day and month go.
        births = session.exec(
            select(col(Pupil.id), col(Pupil.date_of_birth)).where(col(Pupil.id).in_(list(ids)))
        ).all()
        for pupil_id, born in births:
            session.execute(
                sa.update(table)
                .where(table.c.id == pupil_id)
                .values(date_of_birth=date(born.year, 1, 1))
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
    for record_type in ORDER:
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
