"""§5.4 the communication log: append-only, never refusing its owner, flagging broken rules."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from contacts import repository
from contacts.flags import LoggedPupil, LogTarget, flags_for
from contacts.lexicon import mentions_concern
from contacts.models import (
    ADVISORY_FLAGS,
    Flag,
    Message,
    MessageCreate,
    MessagePublic,
    MessagePupil,
)
from contacts.service import contact_in_scope
from core.clock import school_date
from core.directory.models import Role
from core.errors import Forbidden, NotFound, RuleBroken
from core.pagination import Page, fetch_page
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals


def _log_target(
    session: Session, actor: Principal, contact_id: int, device_tag: str
) -> tuple[LogTarget, list[Any]]:
    """The contact and its pupils' rows, if the actor holds it; otherwise the answer any other
    reader would get."""
    rows = repository.log_target_rows(session, contact_id=contact_id, device_tag=device_tag)
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
    target = repository.log_target_of(row)
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
        amended = repository.contact_of_message(conn, message_in.amends_id)
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
        "redacted_at": None,
    }
    pupil_ids = sorted(p.pupil_id for p in pupils)
    message_id = repository.store_message(
        conn, values, pupil_ids=pupil_ids, flags=flags, alert=concerning
    )
    # Sealed from what was written, without reading it back: the same canonical content.
    sealed = seals.digest(
        "message",
        seals.content(
            seals.KEPT["message"],
            {**values, "id": message_id},
            {"pupils": [[p] for p in pupil_ids], "flag_rows": [[str(f)] for f in flags]},
        ),
    )
    audit.record(
        session,
        actor=actor,
        at=at,
        action="message.amended" if message_in.amends_id else "message.logged",
        object_type="message",
        object_id=message_id,
        school_id=contact.school_id,
        details={"contact_id": contact.id, "flags": flags, "amends_id": message_in.amends_id},
        sealed={f"message:{message_id}": sealed},
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
    *,
    session: Session,
    actor: Principal,
    contact_id: int,
    cursor: str | None,
    limit: int,
    newest_first: bool = False,
) -> Page[MessagePublic]:
    contact, _, _ = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    query = select(Message).where(Message.contact_id == contact.id)
    page = fetch_page(
        session, query, col(Message.id), cursor=cursor, limit=limit, newest_first=newest_first
    )
    return Page(items=message_views(session, page.items), next_cursor=page.next_cursor)


def get_message(
    *, session: Session, actor: Principal, contact_id: int, message_id: int
) -> MessagePublic:
    contact, _, _ = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    message = session.get(Message, message_id)
    if message is None or message.contact_id != contact.id:
        raise NotFound("No such message on this contact.")
    return message_views(session, [message])[0]
