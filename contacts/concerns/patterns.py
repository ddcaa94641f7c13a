"""Patterns in a member of staff's conduct, for those who would read a concern about them: their
concerns, flagged log entries, incidents, captured messages never logged and contacts ended or
refused, in time order; and the periodic review of staff with more than one low-level concern."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, SQLModel, col, select

from contacts.capture.models import CapturedMessage, Finding
from contacts.concerns import readers
from contacts.concerns.models import Concern, ConcernKind
from contacts.incidents.models import Incident
from contacts.models import CONCERNING, Contact, ContactState, Message
from core.directory.access import get_scoped
from core.directory.models import Staff
from core.errors import NotFound
from core.principal import Principal
from core.record import audit

NO_SUCH_STAFF = "No such member of staff."


class PatternItem(SQLModel):
    at: datetime
    kind: str  # concern, flagged_entry, incident, not_logged, contact_ended, contact_refused
    record_type: str
    record_id: int
    summary: str


class Pattern(SQLModel):
    staff_id: int
    name: str
    items: list[PatternItem]
    low_level_concerns: int
    allegations: int


def pattern(*, session: Session, actor: Principal, at: datetime, staff_id: int) -> Pattern:
    """The member of staff's pattern; to anyone who would not read a concern about them (the
    person themselves above all), there is no such page."""
    subject = get_scoped(session, actor, Staff, staff_id, NO_SUCH_STAFF)
    if not readers.sees_pattern_of(session, actor, subject):
        raise NotFound(NO_SUCH_STAFF)
    audit.record(
        session,
        actor=actor,
        at=at,
        action="access.staff_pattern",
        object_type="staff_pattern",
        object_id=staff_id,
        school_id=subject.school_id,
    )
    items: list[PatternItem] = []
    concerns = session.exec(
        select(Concern).where(
            Concern.subject_staff_id == staff_id, readers.readable_by(actor.staff_id)
        )
    ).all()
    for c in concerns:
        assert c.id is not None
        kind = "An allegation" if c.kind == ConcernKind.allegation else "A low-level concern"
        state = f"closed: {c.outcome}" if c.closed_at else "open"
        items.append(
            PatternItem(
                at=c.raised_at,
                kind="concern",
                record_type="concern",
                record_id=c.id,
                summary=f"{kind} raised ({state}).",
            )
        )
    mine = select(col(Contact.id)).where(Contact.staff_id == staff_id)
    for m in session.exec(
        select(Message).where(col(Message.contact_id).in_(mine), text(CONCERNING))
    ).all():
        assert m.id is not None
        flags = m.flags.replace("_", " ").replace(",", ", ")
        items.append(
            PatternItem(
                at=m.occurred_at,
                kind="flagged_entry",
                record_type="message",
                record_id=m.id,
                summary=f"A log entry flagged: {flags}.",
            )
        )
    for i in session.exec(select(Incident).where(Incident.reporter_id == staff_id)).all():
        assert i.id is not None
        items.append(
            PatternItem(
                at=i.occurred_at,
                kind="incident",
                record_type="incident",
                record_id=i.id,
                summary=f"An incident reported: {i.kind.replace('_', ' ')}.",
            )
        )
    for cm in session.exec(
        select(CapturedMessage).where(
            CapturedMessage.staff_id == staff_id,
            col(CapturedMessage.finding).in_([Finding.not_logged, Finding.outside_contact]),
        )
    ).all():
        assert cm.id is not None
        breach = cm.finding == Finding.outside_contact
        items.append(
            PatternItem(
                at=cm.sent_at,
                kind="not_logged",
                record_type="captured_message",
                record_id=cm.id,
                summary="A captured message outside any approved contact."
                if breach
                else "A captured message not in the log.",
            )
        )
    for contact in session.exec(
        select(Contact).where(
            Contact.staff_id == staff_id,
            col(Contact.state).in_(
                [ContactState.rejected, ContactState.ended, ContactState.closed]
            ),
        )
    ).all():
        assert contact.id is not None
        refused = contact.state == ContactState.rejected
        when = (contact.decided_at if refused else contact.ended_at) or contact.decided_at
        if when is None:
            continue
        items.append(
            PatternItem(
                at=when,
                kind="contact_refused" if refused else "contact_ended",
                record_type="contact",
                record_id=contact.id,
                summary="A request for contact refused." if refused else "A contact ended.",
            )
        )
    items.sort(key=lambda item: (item.at, item.kind, item.record_id))
    return Pattern(
        staff_id=staff_id,
        name=subject.name,
        items=items,
        low_level_concerns=sum(1 for c in concerns if c.kind == ConcernKind.low_level),
        allegations=sum(1 for c in concerns if c.kind == ConcernKind.allegation),
    )


class Repeated(SQLModel):
    staff_id: int
    name: str
    low_level_concerns: int


def review(*, session: Session, actor: Principal, at: datetime) -> list[Repeated]:
    """The periodic review as its reader sees it (empty for anyone who handles no concerns)."""
    if actor.staff_id is None:
        return []
    found = repeated_low_level(session, actor.staff_id)
    if found:
        audit.record(
            session,
            actor=actor,
            at=at,
            action="access.concern_review",
            object_type="staff",
            object_id=actor.staff_id,
            school_id=actor.school_id,
        )
    return [Repeated(staff_id=i, name=n, low_level_concerns=c) for i, n, c in found]


def repeated_low_level(session: Session, reader_id: int) -> list[tuple[int, str, int]]:
    """(staff id, name, count) of the staff with more than one low-level concern this reader
    handles: the periodic review KCSIE asks for, never including the reader themselves."""
    found: list[Any] = list(
        session.exec(
            select(col(Staff.id), col(Staff.name), func.count(col(Concern.id)))
            .join(Staff, col(Staff.id) == col(Concern.subject_staff_id))
            .where(Concern.kind == ConcernKind.low_level, readers.readable_by(reader_id))
            .group_by(col(Staff.id), col(Staff.name))
            .having(func.count(col(Concern.id)) > 1)
            .order_by(col(Staff.name))
        ).all()
    )
    return [(int(i), str(n), int(c)) for i, n, c in found]
