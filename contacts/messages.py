"""§5.4 the communication log: append-only, never refusing its owner, flagging broken rules."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, SQLModel, col, select

from consent.models import ParentNotice
from contacts.flags import LoggedPupil, LogTarget, flags_for
from contacts.lexicon import mentions_concern
from contacts.models import (
    ADVISORY_FLAGS,
    Alert,
    AlertKind,
    Contact,
    ContactPupil,
    Flag,
    Message,
    MessageCreate,
    MessagePublic,
    MessagePupil,
)
from contacts.review.models import MessageFlag
from contacts.service import contact_in_scope
from core import audit
from core.clock import school_date
from core.db import table_of
from core.directory.models import Device, Pupil, Role, School
from core.errors import Forbidden, NotFound, RuleBroken
from core.pagination import Page, fetch_page
from core.policy import Policy
from core.principal import Principal

# The statements of the log write are built once: every communication runs them.
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
            _messages.c.id, _messages.c.school_id, _messages.c.contact_id, _messages.c.logged_at
        )
        .cte("logged")
    )

    def one_row_each(model: type[SQLModel], column: str, values: str, of: Any) -> Any:
        # A row per element of an array parameter, all pointing at the new entry.
        each = sa.func.unnest(bindparam(values, type_=ARRAY(of)))
        rows = sa.select(logged.c.id, each)
        return (
            table_of(model).insert().from_select(["message_id", column], rows).cte(f"each_{column}")
        )

    pupils = one_row_each(MessagePupil, "pupil_id", "pupil_ids", sa.Integer)
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


def _log_target(
    session: Session, actor: Principal, contact_id: int, device_tag: str
) -> tuple[LogTarget, list[Any]]:
    """The contact and its pupils' rows, if the actor holds it; otherwise the answer any other
    reader would get."""
    rows = (
        session.connection()
        .execute(_LOG_TARGET, {"contact_id": contact_id, "device_tag": device_tag})
        .all()
    )
    row = rows[0] if rows else None
    holds = (
        row is not None
        and row.staff_id == actor.staff_id
        and actor.sees_school(school_id=row.school_id, trust_id=row.trust_id)
    )
    if not holds:
        contact_in_scope(session, actor, contact_id)  # 404 unless the actor may see it
        if row is None or row.staff_id != actor.staff_id:
            raise Forbidden("Only the member of staff who holds this contact may log on it.")
    assert row is not None
    target = LogTarget(**{name: row._mapping[name] for name in _TARGET_FIELDS})
    return target, [r for r in rows if r.pupil_id is not None]


def _pupils_on(rows: list[Any]) -> list[LoggedPupil]:
    return [
        LoggedPupil(
            pupil_id=r.pupil_id,
            ended_at=r.ended_at,
            date_of_birth=r.date_of_birth,
            first_informed_on=r.parent_informed_on,
        )
        for r in rows
    ]


def _store(
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
    conn.execute(_INSERT_PUPILS, [{"message_id": message_id, "pupil_id": p} for p in pupil_ids])
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


def log_message(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    contact_id: int,
    message_in: MessageCreate,
) -> MessagePublic:
    """Store a true record from the contact's own member of staff, flagged where it breaks rules.

    Every communication passes through here, so it reads and writes plain rows: three reads
    (the contact with its school, device and pupils; consents when a pupil needs them; the
    amended entry when correcting) and one insert per table.
    """
    contact, pupil_rows = _log_target(session, actor, contact_id, message_in.device_tag)
    if message_in.occurred_at > at:
        raise RuleBroken("occurred_at is in the future.")
    day = school_date(message_in.occurred_at, policy.zone_of(contact.timezone))
    pupils = _pupils_on(pupil_rows)
    if message_in.pupil_ids is not None:
        wanted = set(message_in.pupil_ids)
        pupils = [p for p in pupils if p.pupil_id in wanted]
        if len(pupils) != len(wanted):
            raise RuleBroken("Every pupil named must be a pupil on this contact.")
        if not pupils:
            raise RuleBroken("Name at least one pupil on this contact, or leave pupil_ids out.")
    conn = session.connection()
    if message_in.amends_id is not None:
        amended = conn.execute(_AMENDED_CONTACT, {"id": message_in.amends_id}).scalar()
        if amended != contact.id:
            raise RuleBroken("A correction must amend a message of the same contact.")
    flags = flags_for(
        session,
        policy=policy,
        contact=contact,
        pupils=pupils,
        occurred_at=message_in.occurred_at,
        day=day,
    )
    if mentions_concern((message_in.summary, message_in.verbatim), policy.lexicon):
        flags = sorted({*flags, Flag.lexicon})
    concerning = bool(set(flags) - ADVISORY_FLAGS)
    # A share of clean entries is read too, so a log cannot look clean by leaving things out.
    sampled = not concerning and random.random() < policy.sample_rate  # noqa: S311
    values = {
        "school_id": contact.school_id,
        "contact_id": contact.id,
        "staff_id": contact.staff_id,
        "direction": message_in.direction,
        "occurred_at": message_in.occurred_at,
        "logged_at": at,
        "device_id": contact.device_id,
        "device_tag": message_in.device_tag,
        "summary": message_in.summary,
        "verbatim": message_in.verbatim,
        "flags": ",".join(flags),
        "amends_id": message_in.amends_id,
        "amend_reason": message_in.amend_reason,
        "needs_review": concerning or sampled,
        "sampled": sampled,
        "reviewed_at": None,
    }
    pupil_ids = sorted(p.pupil_id for p in pupils)
    message_id = _store(conn, values, pupil_ids=pupil_ids, flags=flags, alert=concerning)
    audit.record(
        session,
        actor=actor,
        at=at,
        action="message.amended" if message_in.amends_id else "message.logged",
        object_type="message",
        object_id=message_id,
        school_id=contact.school_id,
        reason=message_in.amend_reason,
        details={"contact_id": contact.id, "flags": flags, "amends_id": message_in.amends_id},
    )
    return MessagePublic.model_validate(
        {
            **values,
            "id": message_id,
            "pupil_ids": pupil_ids,
            "flags": flags,
            "device_registered": contact.device_id is not None,
        }
    )


def message_views(session: Session, messages: Sequence[Message]) -> list[MessagePublic]:
    ids = [m.id for m in messages if m.id is not None]
    pupils: dict[int, list[int]] = defaultdict(list)
    if ids:
        for row in session.exec(select(MessagePupil).where(col(MessagePupil.message_id).in_(ids))):
            pupils[row.message_id].append(row.pupil_id)
    return [
        MessagePublic.model_validate(
            {
                **m.model_dump(),
                "pupil_ids": sorted(pupils[m.id]),  # type: ignore[index]
                "flags": m.flag_list,
                "device_registered": m.device_id is not None,
            }
        )
        for m in messages
    ]


def list_messages(
    *, session: Session, actor: Principal, contact_id: int, cursor: str | None, limit: int
) -> Page[MessagePublic]:
    contact, _, _ = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    query = select(Message).where(Message.contact_id == contact.id)
    page = fetch_page(session, query, col(Message.id), cursor=cursor, limit=limit)
    return Page(items=message_views(session, page.items), next_cursor=page.next_cursor)


def get_message(
    *, session: Session, actor: Principal, contact_id: int, message_id: int
) -> MessagePublic:
    contact, _, _ = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    message = session.get(Message, message_id)
    if message is None or message.contact_id != contact.id:
        raise NotFound("No such message on this contact.")
    return message_views(session, [message])[0]
