"""A pupil's or a staff member's whole story, newest first: every record, typed and linked.

A page is found in the database: each record type gives its own newest entries after the
cursor, a UNION ALL of those gives the page's keys (when, what, which record), and only those
records are then read to describe them. So a page costs what the page holds, however long the
history behind it: a pupil's log entries are read newest first from an index of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Select, String, and_, func, literal, tuple_, union_all
from sqlalchemy.sql.expression import ColumnClause
from sqlmodel import Session, col, select

from consent.models import Consent, ConsentRequest, ParentNotice
from contacts.capture.models import CapturedMessage, CapturedPupil
from contacts.incidents.models import Incident, IncidentPupil
from contacts.models import (
    Contact,
    ContactPupil,
    DeletionTask,
    Message,
    MessagePupil,
)
from contacts.oversight.entries import ChronologyEntry, Key, describe
from contacts.oversight.review.service import LogFilter, record_access
from core.db import UTCDateTime
from core.directory.access import get_scoped, require_role, visible_school
from core.directory.models import Pupil, Role, Staff
from core.directory.staff import manages
from core.errors import InvalidInput
from core.inputs import EARLIEST_YEAR, LATEST_YEAR, MAX_RECORD_ID
from core.models import OutboxEmail
from core.pagination import Page, decode_cursor, encode_cursor
from core.principal import Principal


@dataclass(frozen=True)
class Story:
    """Whose story: the records that belong in it, as subqueries of ids."""

    contact_ids: Any
    pupil_id: int | None  # the pupil's story keeps to that pupil's part of each contact
    # Which log entries, for a staff member's story; a pupil's are their own (message_pupil).
    messages: ColumnElement[bool] | None
    incidents: ColumnElement[bool]
    emails: ColumnElement[bool]


def _branch(
    at: Any, kind: ColumnElement[str] | str, object_type: str, object_id: Any, *where: Any
) -> Select[Any]:
    type_ = literal(kind, String) if isinstance(kind, str) else kind
    part = literal(0)
    return sa.select(
        at.label("at"),
        type_.label("type"),
        literal(object_type, String).label("object_type"),
        object_id.label("object_id"),
        part.label("part"),
    ).where(*where)


def _branches(story: Story) -> list[Select[Any]]:
    contacts: ColumnElement[bool] = col(Contact.id).in_(story.contact_ids)
    links: ColumnElement[bool] = col(ContactPupil.contact_id).in_(story.contact_ids)
    consents: ColumnElement[bool] = col(Consent.contact_id).in_(story.contact_ids)
    tasks: ColumnElement[bool] = col(DeletionTask.contact_id).in_(story.contact_ids)
    refusals: ColumnElement[bool] = and_(
        col(ConsentRequest.contact_id).in_(story.contact_ids),
        col(ConsentRequest.answer) == "declined",
    )
    if story.pupil_id is not None:
        refusals = and_(refusals, col(ConsentRequest.pupil_id) == story.pupil_id)
        links = and_(links, col(ContactPupil.pupil_id) == story.pupil_id)
        consents = and_(consents, col(Consent.pupil_id) == story.pupil_id)
        tasks = and_(tasks, col(DeletionTask.pupil_id) == story.pupil_id)
    ended: Any = sa.select(
        col(ContactPupil.ended_at).label("at"),
        literal("contact.ended", String).label("type"),
        literal("contact", String).label("object_type"),
        col(ContactPupil.contact_id).label("object_id"),
        col(ContactPupil.pupil_id).label("part"),
    ).where(links, col(ContactPupil.ended_at).is_not(None))
    branches = [
        _branch(
            col(Contact.requested_at), "contact.requested", "contact", col(Contact.id), contacts
        ),
        _branch(
            col(Contact.decided_at),
            literal("contact.", String) + func.coalesce(col(Contact.verdict), "decided"),
            "contact",
            col(Contact.id),
            contacts,
            col(Contact.decided_at).is_not(None),
        ),
        ended,
        _branch(col(Consent.recorded_at), "consent.recorded", "consent", col(Consent.id), consents),
        _branch(
            col(Consent.withdrawal_recorded_at),
            "consent.withdrawn",
            "consent",
            col(Consent.id),
            consents,
            col(Consent.withdrawal_recorded_at).is_not(None),
        ),
        _branch(
            col(ConsentRequest.answered_at),
            "consent_request.declined",
            "consent_request",
            col(ConsentRequest.id),
            refusals,
        ),
        _branch(
            col(ConsentRequest.resolved_at),
            "consent_request.resolved",
            "consent_request",
            col(ConsentRequest.id),
            refusals,
            col(ConsentRequest.resolved_at).is_not(None),
        ),
        _branch(
            col(DeletionTask.confirmed_at),
            "deletion.confirmed",
            "deletion_task",
            col(DeletionTask.id),
            tasks,
            col(DeletionTask.confirmed_at).is_not(None),
        ),
        _messages_of(story),
        _branch(
            col(Incident.occurred_at),
            "incident.reported",
            "incident",
            col(Incident.id),
            story.incidents,
        ),
        _branch(
            col(Incident.discussed_at),
            "incident.discussed",
            "incident",
            col(Incident.id),
            story.incidents,
            col(Incident.discussed_at).is_not(None),
        ),
        _branch(
            col(OutboxEmail.created_at),
            literal("email.", String) + col(OutboxEmail.kind),
            "email",
            col(OutboxEmail.id),
            story.emails,
        ),
    ]
    # What the platform captured that no entry covers: a gap in the log, or a breach.
    captured: ColumnElement[bool] = and_(
        col(CapturedMessage.contact_id).in_(story.contact_ids),
        col(CapturedMessage.matched_message_id).is_(None),
    )
    if story.pupil_id is not None:
        captured = and_(
            captured,
            col(CapturedMessage.id).in_(
                select(CapturedPupil.captured_id).where(CapturedPupil.pupil_id == story.pupil_id)
            ),
        )
    branches.append(
        _branch(
            col(CapturedMessage.sent_at),
            literal("captured.", String) + col(CapturedMessage.finding),
            "captured_message",
            col(CapturedMessage.id),
            captured,
        )
    )
    if story.pupil_id is not None:
        branches.append(
            _branch(
                col(ParentNotice.recorded_at),
                "parent_notice.recorded",
                "parent_notice",
                col(ParentNotice.id),
                col(ParentNotice.pupil_id) == story.pupil_id,
            )
        )
    return branches


def _messages_of(story: Story) -> Select[Any]:
    kind = literal("message.", String) + col(Message.direction)
    if story.messages is not None:
        return _branch(col(Message.occurred_at), kind, "message", col(Message.id), story.messages)
    # A pupil's entries, by when they happened, from their own index (pupil, occurred_at).
    return _branch(
        col(MessagePupil.occurred_at),
        kind,
        "message",
        col(MessagePupil.message_id),
        col(MessagePupil.pupil_id) == story.pupil_id,
        col(Message.id) == col(MessagePupil.message_id),
    )


def _after(cursor: str | None) -> Key | None:
    """The key a cursor holds; anything this server did not issue is refused (422), never a 500."""
    raw = decode_cursor(cursor)
    if raw is None:
        return None
    refused = InvalidInput(
        "The cursor is not one this server issued.",
        extra={"errors": [{"field": "cursor", "message": "unrecognised cursor"}]},
    )
    if not (isinstance(raw, list) and len(raw) == 5):
        raise refused
    at, type_, object_type, object_id, part = raw
    ints = (object_id, part)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ints):
        raise refused
    if not (isinstance(type_, str) and isinstance(object_type, str) and isinstance(at, str)):
        raise refused
    if not (0 <= object_id <= MAX_RECORD_ID and 0 <= part <= MAX_RECORD_ID and len(type_) < 80):
        raise refused
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise refused from None
    if when.tzinfo is None or not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        raise refused
    return Key(when, type_, object_type, object_id, part)


def _page_keys(session: Session, story: Story, after: Key | None, limit: int) -> list[Key]:
    def newest(branch: Select[Any]) -> Select[Any]:
        """The branch's own first `limit + 1` entries after the cursor, in the page's order: the
        page is among them, and each is read from an index, not sorted from every record."""
        rows: Any = branch.subquery().c
        query = sa.select(rows.at, rows.type, rows.object_type, rows.object_id, rows.part)
        if after is not None:
            at: ColumnClause[Any] = literal(after.at, UTCDateTime())  # type: ignore[assignment]
            query = query.where(
                rows.at <= at,  # the same bound, as a range an index serves
                tuple_(rows.at, rows.type, rows.object_id, rows.part)
                < tuple_(
                    at, literal(after.type, String), literal(after.object_id), literal(after.part)
                ),
            )
        query = query.order_by(*_newest_first(rows)).limit(limit + 1)
        return sa.select(query.subquery())  # SQLite takes no ORDER BY inside a UNION's member

    every: Any = union_all(*(newest(b) for b in _branches(story))).subquery("story").c
    query = sa.select(every.at, every.type, every.object_type, every.object_id, every.part)
    query = query.order_by(*_newest_first(every)).limit(limit + 1)
    return [Key(*row) for row in session.execute(query).all()]


def _newest_first(c: Any) -> tuple[Any, ...]:
    return (c.at.desc(), c.type.desc(), c.object_id.desc(), c.part.desc())


def _page(
    session: Session, reader: Principal, story: Story, cursor: str | None, limit: int
) -> Page[ChronologyEntry]:
    keys = _page_keys(session, story, _after(cursor), limit)
    more = len(keys) > limit
    keys = keys[:limit]
    last = keys[-1] if keys else None
    next_cursor = (
        encode_cursor([last.at.isoformat(), last.type, last.object_type, last.object_id, last.part])
        if more and last is not None
        else None
    )
    return Page(items=describe(session, reader, keys), next_cursor=next_cursor)


# ---------------------------------------------------------------- whose story


def pupil_story(pupil_id: int) -> Story:
    contact_ids = select(ContactPupil.contact_id).where(ContactPupil.pupil_id == pupil_id)
    return Story(
        contact_ids=contact_ids,
        pupil_id=pupil_id,
        messages=None,  # the pupil's own, by time (see _messages_of)
        incidents=col(Incident.id).in_(
            select(IncidentPupil.incident_id).where(IncidentPupil.pupil_id == pupil_id)
        ),
        emails=col(OutboxEmail.contact_id).in_(contact_ids),
    )


def contact_story(contact_id: int) -> Story:
    """One contact's story: its request, decision, consents, messages, ending and emails."""
    contact_ids = select(Contact.id).where(Contact.id == contact_id)
    return Story(
        contact_ids=contact_ids,
        pupil_id=None,
        messages=col(Message.contact_id) == contact_id,
        incidents=col(Incident.id).is_(None),
        emails=col(OutboxEmail.contact_id).in_(contact_ids),
    )


def whole_story(
    session: Session, reader: Principal, story: Story, *, batch: int = 500
) -> list[ChronologyEntry]:
    """Every entry of a story, oldest first, as an evidence pack's chronology reads."""
    entries: list[ChronologyEntry] = []
    cursor: str | None = None
    while True:
        page = _page(session, reader, story, cursor, batch)
        entries += page.items
        if page.next_cursor is None:
            return entries[::-1]
        cursor = page.next_cursor


def pupil_chronology(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    pupil_id: int,
    cursor: str | None,
    limit: int,
) -> Page[ChronologyEntry]:
    """Everything about one pupil, newest first: for the DSL (and investigations)."""
    pupil = get_scoped(session, actor, Pupil, pupil_id, "No such pupil.")
    school = visible_school(session, actor, pupil.school_id)
    require_role(actor, school, Role.dsl, action="read a pupil's chronology")
    page = _page(session, actor, pupil_story(pupil_id), cursor, limit)
    where = LogFilter(pupil_id=pupil_id)
    record_access(session, actor, at, "access.pupil_chronology", where, pupil.school_id)
    return page


def staff_chronology(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    staff_id: int,
    cursor: str | None,
    limit: int,
) -> Page[ChronologyEntry]:
    """Everything one member of staff did and was asked, newest first: for the DSL and their
    line manager."""
    staff = get_scoped(session, actor, Staff, staff_id, "No such member of staff.")
    school = visible_school(session, actor, staff.school_id)
    if not manages(actor, staff, school):
        require_role(actor, school, Role.dsl, action="read a staff chronology")
    contact_ids = select(Contact.id).where(Contact.staff_id == staff_id)
    story = Story(
        contact_ids=contact_ids,
        pupil_id=None,
        messages=col(Message.staff_id) == staff_id,
        incidents=col(Incident.reporter_id) == staff_id,
        emails=(col(OutboxEmail.to_staff_id) == staff_id)
        | col(OutboxEmail.contact_id).in_(contact_ids),
    )
    page = _page(session, actor, story, cursor, limit)
    where = LogFilter(staff_id=staff_id)
    record_access(session, actor, at, "access.staff_chronology", where, staff.school_id)
    return page
