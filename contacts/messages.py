"""§5.4 the communication log: append-only, never refusing its owner, flagging broken rules."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, select

from consent.models import Consent, ParentNotice
from consent.rules import consent_valid_on, needs_consent
from contacts.incident_models import MessageFlag
from contacts.lexicon import mentions_concern
from contacts.models import (
    ADVISORY_FLAGS,
    Alert,
    AlertKind,
    Contact,
    ContactPupil,
    ContactState,
    Flag,
    Message,
    MessageCreate,
    MessagePublic,
    MessagePupil,
)
from contacts.service import contact_in_scope
from core import audit
from core.auth import Principal
from core.clock import now, school_date
from core.directory.access import school_zone
from core.directory.models import Device, Pupil, Role
from core.errors import Forbidden, NotFound, RuleBroken
from core.pagination import Page, after_id, page_by_id
from core.settings import get_settings


def flags_for(
    session: Session,
    *,
    contact: Contact,
    links: Sequence[ContactPupil],
    message: MessageCreate,
    day: date,
    device: Device | None,
) -> list[Flag]:
    """Which rules a communication on this contact, on this day, breaks (§3.3)."""
    flags: set[Flag] = set()
    decided = contact.decided_at
    if contact.state in (ContactState.requested, ContactState.rejected) or (
        decided is not None and message.occurred_at < decided
    ):
        flags.add(Flag.before_approval)
    if not contact.starts_on <= day <= contact.ends_on:
        flags.add(Flag.outside_dates)
    if contact.state == ContactState.rejected or any(
        link.ended_at is not None and link.ended_at <= message.occurred_at for link in links
    ):
        flags.add(Flag.contact_not_active)
    if device is None or not device.is_active:
        flags.add(Flag.unregistered_device)
    pupil_ids = [link.pupil_id for link in links]
    born: dict[int | None, date] = {
        p.id: p.date_of_birth
        for p in session.exec(select(Pupil).where(col(Pupil.id).in_(pupil_ids)))
    }
    consents: dict[int, list[Consent]] = defaultdict(list)
    for consent in session.exec(
        select(Consent).where(
            Consent.contact_id == contact.id, col(Consent.pupil_id).in_(pupil_ids)
        )
    ):
        consents[consent.pupil_id].append(consent)
    informed = set(
        session.exec(
            select(ParentNotice.pupil_id).where(
                col(ParentNotice.pupil_id).in_(pupil_ids), ParentNotice.informed_on <= day
            )
        ).all()
    )
    consent_age = get_settings().consent_age
    for pupil_id in pupil_ids:
        if needs_consent(born[pupil_id], day, consent_age):
            if not any(consent_valid_on(c.terms, day) for c in consents[pupil_id]):
                flags.add(Flag.no_valid_consent)
        elif pupil_id not in informed:
            flags.add(Flag.parent_not_informed)
    return sorted(flags)


def log_message(
    *, session: Session, actor: Principal, contact_id: int, message_in: MessageCreate
) -> Message:
    """Store a true record from the contact's own member of staff, flagged where it breaks rules."""
    contact, school, _ = contact_in_scope(session, actor, contact_id)
    if contact.staff_id != actor.staff_id:
        raise Forbidden("Only the member of staff who holds this contact may log on it.")
    assert contact.id is not None
    all_links = session.exec(
        select(ContactPupil).where(ContactPupil.contact_id == contact.id)
    ).all()
    if message_in.pupil_ids is None:
        links = list(all_links)
    else:
        wanted = set(message_in.pupil_ids)
        links = [link for link in all_links if link.pupil_id in wanted]
        if len(links) != len(wanted):
            raise RuleBroken("Every pupil named must be a pupil on this contact.")
        if not links:
            raise RuleBroken("Name at least one pupil on this contact, or leave pupil_ids out.")
    at = now()
    if message_in.occurred_at > at:
        raise RuleBroken("occurred_at is in the future.")
    if message_in.amends_id is not None:
        amended = session.get(Message, message_in.amends_id)
        if amended is None or amended.contact_id != contact.id:
            raise RuleBroken("A correction must amend a message of the same contact.")
    device = session.exec(
        select(Device).where(
            Device.school_id == school.id, Device.asset_tag == message_in.device_tag
        )
    ).first()
    day = school_date(message_in.occurred_at, school_zone(school))
    flags = flags_for(
        session, contact=contact, links=links, message=message_in, day=day, device=device
    )
    settings = get_settings()
    if mentions_concern((message_in.summary, message_in.verbatim), settings.review_lexicon):
        flags = sorted({*flags, Flag.lexicon})
    concerning = bool(set(flags) - ADVISORY_FLAGS)
    # A share of clean entries is read too, so a log cannot look clean by leaving things out.
    sampled = not concerning and random.random() < settings.review_sample_rate  # noqa: S311
    message = Message(
        school_id=contact.school_id,
        contact_id=contact.id,
        staff_id=contact.staff_id,
        direction=message_in.direction,
        occurred_at=message_in.occurred_at,
        logged_at=at,
        device_id=device.id if device is not None and device.is_active else None,
        device_tag=message_in.device_tag,
        summary=message_in.summary,
        verbatim=message_in.verbatim,
        flags=",".join(flags),
        amends_id=message_in.amends_id,
        amend_reason=message_in.amend_reason,
        needs_review=concerning or sampled,
        sampled=sampled,
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    for link in links:
        session.add(MessagePupil(message_id=message.id, pupil_id=link.pupil_id))
    for flag in flags:
        session.add(MessageFlag(message_id=message.id, flag=flag))
    if concerning:
        session.add(
            Alert(
                school_id=contact.school_id,
                kind=AlertKind.flagged_message,
                contact_id=contact.id,
                message_id=message.id,
                created_at=at,
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="message.amended" if message.amends_id else "message.logged",
        object_type="message",
        object_id=message.id,
        school_id=contact.school_id,
        reason=message_in.amend_reason,
        details={"contact_id": contact.id, "flags": flags, "amends_id": message.amends_id},
    )
    return message


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
    page = page_by_id(session.exec(after_id(query, col(Message.id), cursor, limit)).all(), limit)
    return Page(items=message_views(session, page.items), next_cursor=page.next_cursor)


def get_message(
    *, session: Session, actor: Principal, contact_id: int, message_id: int
) -> MessagePublic:
    contact, _, _ = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    message = session.get(Message, message_id)
    if message is None or message.contact_id != contact.id:
        raise NotFound("No such message on this contact.")
    return message_views(session, [message])[0]
