"""The queries of contacts/, in one place: the log write's tuned statements first (every
communication runs them, so they are built once and read plain rows), then what the scheduled
jobs look for."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from consent.models import ParentNotice
from contacts.flags import LogTarget
from contacts.models import (
    Alert,
    AlertKind,
    Contact,
    ContactPupil,
    ContactState,
    DeletionTask,
    Flag,
    Message,
    MessageFlag,
    MessagePupil,
)
from core.db import table_of
from core.directory.models import Device, Pupil, School

# ---------------------------------------------------------------- the log write

_contact, _school, _device = (
    table_of(Contact).c,
    table_of(School).c,
    table_of(Device).c,
)
_link, _pupil, _notice = (
    table_of(ContactPupil).c,
    table_of(Pupil).c,
    table_of(ParentNotice).c,
)
_TARGET_COLUMNS = (
    _contact.id,
    _contact.school_id,
    _contact.staff_id,
    _contact.state,
    _contact.decided_at,
    _contact.starts_on,
    _contact.ends_on,
    _school.trust_id,
    _school.timezone,
    sa.select(_device.id)
    .where(
        _device.school_id == _contact.school_id,
        _device.asset_tag == bindparam("device_tag"),
        _device.is_active,
    )
    .scalar_subquery()
    .label("device_id"),
)
# The contact, its school and device, and a row per pupil on it, in one read. Whether a
# parent was informed depends on the day in the school's time zone, known only from this
# row, so the read brings the first day a parent was informed and the rule compares.
_LOG_TARGET = (
    sa.select(
        *_TARGET_COLUMNS,
        _link.pupil_id,
        _link.ended_at,
        _pupil.date_of_birth,
        sa.select(sa.func.min(_notice.informed_on))
        .where(_notice.pupil_id == _link.pupil_id)
        .scalar_subquery()
        .label("parent_informed_on"),
    )
    .join_from(table_of(Contact), table_of(School), _school.id == _contact.school_id)
    .outerjoin(table_of(ContactPupil), _link.contact_id == _contact.id)
    .outerjoin(table_of(Pupil), _pupil.id == _link.pupil_id)
    .where(_contact.id == bindparam("contact_id"))
)
_TARGET_FIELDS = [c.name for c in _TARGET_COLUMNS]
_messages = table_of(Message)
_AMENDED_CONTACT = sa.select(_messages.c.contact_id).where(_messages.c.id == bindparam("id"))
_INSERT_MESSAGE = _messages.insert().returning(_messages.c.id)
_INSERT_PUPILS = table_of(MessagePupil).insert()
_INSERT_FLAGS = table_of(MessageFlag).insert()
_INSERT_ALERT = table_of(Alert).insert()


def _one_statement_store() -> sa.Select[Any]:
    """PostgreSQL: the entry and its pupils, flags and alert in one round trip (DML in CTEs)."""
    logged = (
        _messages.insert()
        .values({c: bindparam(f"m_{c}", type_=_messages.c[c].type) for c in _MESSAGE_COLUMNS})
        .returning(
            _messages.c.id,
            _messages.c.school_id,
            _messages.c.contact_id,
            _messages.c.logged_at,
            _messages.c.occurred_at,
        )
        .cte("logged")
    )

    def one_row_each(model: type[SQLModel], column: str, values: str, of: Any, *also: str) -> Any:
        # A row per element of an array parameter, all pointing at the new entry.
        each = sa.func.unnest(bindparam(values, type_=ARRAY(of)))
        rows = sa.select(logged.c.id, each, *(logged.c[c] for c in also))
        into = ["message_id", column, *also]
        return table_of(model).insert().from_select(into, rows).cte(f"each_{column}")

    pupils = one_row_each(MessagePupil, "pupil_id", "pupil_ids", sa.Integer, "occurred_at")
    flagged = one_row_each(MessageFlag, "flag", "flag_names", sa.String)
    alerted = (
        table_of(Alert)
        .insert()
        .from_select(
            ["school_id", "kind", "contact_id", "message_id", "created_at"],
            sa.select(
                logged.c.school_id,
                bindparam("alert_kind", type_=sa.String),
                logged.c.contact_id,
                logged.c.id,
                logged.c.logged_at,
            ).where(bindparam("concerning", type_=sa.Boolean)),
        )
        .cte("alerted")
    )
    return sa.select(logged.c.id).add_cte(pupils, flagged, alerted)


_MESSAGE_COLUMNS = [c.name for c in _messages.c if c.name != "id"]
_STORE_IN_ONE_STATEMENT = _one_statement_store()


def log_target_rows(session: Session, *, contact_id: int, device_tag: str) -> list[Any]:
    """The contact with its school and device, and a row per pupil on it, in one read."""
    return list(
        session.connection()
        .execute(_LOG_TARGET, {"contact_id": contact_id, "device_tag": device_tag})
        .all()
    )


def log_target_of(row: Any) -> LogTarget:
    return LogTarget(**{name: row._mapping[name] for name in _TARGET_FIELDS})


def contact_of_message(conn: Connection, message_id: int) -> int | None:
    found: int | None = conn.execute(_AMENDED_CONTACT, {"id": message_id}).scalar()
    return found


def store_message(
    conn: Connection,
    values: dict[str, Any],
    *,
    pupil_ids: list[int],
    flags: list[Flag],
    alert: bool,
) -> int:
    """Write the entry, its pupils, its flags and, when it is concerning, the DSL's alert."""
    if conn.dialect.name == "postgresql":
        stored: int = conn.execute(
            _STORE_IN_ONE_STATEMENT,
            {
                **{f"m_{name}": value for name, value in values.items()},
                "pupil_ids": pupil_ids,
                "flag_names": [str(f) for f in flags],
                "alert_kind": str(AlertKind.flagged_message),
                "concerning": alert,
            },
        ).scalar_one()
        return stored
    message_id: int = conn.execute(_INSERT_MESSAGE, values).scalar_one()
    at = values["occurred_at"]
    conn.execute(
        _INSERT_PUPILS,
        [{"message_id": message_id, "pupil_id": p, "occurred_at": at} for p in pupil_ids],
    )
    if flags:
        conn.execute(_INSERT_FLAGS, [{"message_id": message_id, "flag": f} for f in flags])
    if alert:
        conn.execute(
            _INSERT_ALERT,
            {
                "school_id": values["school_id"],
                "kind": AlertKind.flagged_message,
                "contact_id": values["contact_id"],
                "message_id": message_id,
                "created_at": values["logged_at"],
            },
        )
    return message_id


# ---------------------------------------------------------------- what the jobs look for
# Each returns a statement: the jobs take their rows a step at a time (scheduler.steps).


def contacts_ending_soon(school_id: int, today: date, last_day: date) -> SelectOfScalar[Any]:
    """Approved contacts of the school ending by `last_day`, whose holder was not yet told."""
    return (
        select(Contact.id)
        .where(
            Contact.school_id == school_id,
            Contact.state == ContactState.approved,
            col(Contact.ending_notice_at).is_(None),
            Contact.ends_on >= today,
            Contact.ends_on <= last_day,
        )
        .order_by(col(Contact.id))
    )


def leavers_on_contacts(school_id: int, today: date) -> Any:
    """(contact id, pupil id) of each approved contact's pupil who has left the school by
    `today` and whose part has not ended."""
    return (
        select(ContactPupil.contact_id, ContactPupil.pupil_id)
        .join(Contact, col(Contact.id) == col(ContactPupil.contact_id))
        .join(Pupil, col(Pupil.id) == col(ContactPupil.pupil_id))
        .where(
            Contact.school_id == school_id,
            Contact.state == ContactState.approved,
            col(ContactPupil.ended_at).is_(None),
            col(Pupil.left_on).is_not(None),
            col(Pupil.left_on) <= today,
        )
        .order_by(col(ContactPupil.contact_id), col(ContactPupil.pupil_id))
    )


def alerts_not_emailed() -> SelectOfScalar[Any]:
    return select(Alert.id).where(col(Alert.emailed_at).is_(None)).order_by(col(Alert.id))


def requests_waiting_since(school_id: int, since: datetime) -> SelectOfScalar[Any]:
    """Requests of the school made by `since` whose approver has not been chased."""
    return (
        select(Contact.id)
        .where(
            Contact.school_id == school_id,
            Contact.state == ContactState.requested,
            col(Contact.approval_chased_at).is_(None),
            Contact.requested_at <= since,
        )
        .order_by(col(Contact.id))
    )


def _open_tasks() -> Any:
    return col(DeletionTask.confirmed_at).is_(None)


def contacts_with_reminders_due(at: datetime) -> SelectOfScalar[Any]:
    """Contacts with a deletion task whose next reminder is due (the tasks are what is locked)."""
    return (
        select(DeletionTask.contact_id)
        .where(_open_tasks(), col(DeletionTask.next_reminder_at) <= at)
        .order_by(col(DeletionTask.id))
    )


def reminders_due(session: Session, contact_id: int, at: datetime) -> list[DeletionTask]:
    return list(
        session.exec(
            select(DeletionTask).where(
                DeletionTask.contact_id == contact_id,
                _open_tasks(),
                col(DeletionTask.next_reminder_at) <= at,
            )
        ).all()
    )


def contacts_with_overdue_deletions(school_id: int, opened_by: datetime) -> SelectOfScalar[Any]:
    """Contacts of the school with a deletion open since `opened_by` and not yet escalated."""
    return (
        select(DeletionTask.contact_id)
        .where(
            DeletionTask.school_id == school_id,
            _open_tasks(),
            col(DeletionTask.escalated_at).is_(None),
            col(DeletionTask.created_at) <= opened_by,
        )
        .order_by(col(DeletionTask.id))
    )


def overdue_deletions(session: Session, contact_id: int, opened_by: datetime) -> list[DeletionTask]:
    return list(
        session.exec(
            select(DeletionTask).where(
                DeletionTask.contact_id == contact_id,
                _open_tasks(),
                col(DeletionTask.escalated_at).is_(None),
                col(DeletionTask.created_at) <= opened_by,
            )
        ).all()
    )


def pupils_on(session: Session, contact_id: int) -> list[int]:
    return list(
        session.exec(
            select(ContactPupil.pupil_id).where(ContactPupil.contact_id == contact_id)
        ).all()
    )


def pupils_by_id(session: Session, pupil_ids: list[int]) -> list[Pupil]:
    return list(
        session.exec(select(Pupil).where(col(Pupil.id).in_(pupil_ids)).order_by(col(Pupil.id)))
    )
