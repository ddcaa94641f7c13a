"""The DSL's work on the log: search it, export it, and work through the review queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlmodel import Session, col, exists, func, select
from sqlmodel.sql.expression import SelectOfScalar

from contacts.messages import message_views
from contacts.models import Contact, Message, MessageFlag, MessagePublic, MessagePupil
from contacts.oversight.review.models import MessageReview, ReviewCreate
from contacts.oversight.review.words import summary_has, words_of
from core import once
from core.directory.access import get_scoped, own_or_reports, require_role, visible_school
from core.directory.models import TRUST_ROLES, Role
from core.errors import InvalidInput, RuleBroken
from core.pagination import Page, decode_int_cursor, fetch_page
from core.principal import Principal
from core.record import audit, seals


@dataclass(frozen=True)
class LogFilter:
    school_id: int | None = None
    staff_id: int | None = None
    pupil_id: int | None = None
    platform: str | None = None
    flag: str | None = None
    reviewed: bool | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    # Words every matching summary holds (words.summary_has); what was searched for is never
    # written to the change record, only that words were.
    text: str | None = None


def search_query(
    session: Session, actor: Principal, where: LogFilter, *, before: int | None = None
) -> SelectOfScalar[Message]:
    """The messages this actor may see that match `where` (older than `before`, if given);
    DSLs see their school, approvers their reports' and their own, everyone else their own.

    The page bound is repeated inside the pupil and flag conditions: PostgreSQL carries
    equalities across a join, not ranges, and without it a deep page of a pupil's log would
    read the pupil's newer entries from the top before reaching the page."""
    school = visible_school(session, actor, where.school_id or actor.school_id or 0)
    query = select(Message).where(
        Message.school_id == school.id, own_or_reports(actor, school, col(Message.staff_id))
    )
    if before is not None:
        query = query.where(col(Message.id) < before)
    if where.staff_id is not None:
        query = query.where(Message.staff_id == where.staff_id)
    if where.pupil_id is not None:
        tagged = exists().where(
            col(MessagePupil.message_id) == col(Message.id),
            col(MessagePupil.pupil_id) == where.pupil_id,
        )
        if before is not None:
            tagged = tagged.where(col(MessagePupil.message_id) < before)
        query = query.where(tagged)
    if where.platform is not None:
        query = query.where(
            col(Message.contact_id).in_(
                select(Contact.id).where(Contact.platform == where.platform)
            )
        )
    if where.flag is not None:
        flagged = exists().where(
            col(MessageFlag.message_id) == col(Message.id), col(MessageFlag.flag) == where.flag
        )
        if before is not None:
            flagged = flagged.where(col(MessageFlag.message_id) < before)
        query = query.where(flagged)
    if where.reviewed is not None:
        reviewed = col(Message.reviewed_at)
        query = query.where(reviewed.is_not(None) if where.reviewed else reviewed.is_(None))
    if where.occurred_from is not None:
        query = query.where(Message.occurred_at >= where.occurred_from)
    if where.occurred_to is not None:
        query = query.where(Message.occurred_at < where.occurred_to)
    if where.text:
        query = query.where(summary_has(session.get_bind().dialect.name, where.text))
    return query


def record_access(
    session: Session,
    actor: Principal,
    at: datetime,
    action: str,
    where: LogFilter,
    school_id: int | None,
) -> None:
    """Searches and exports by DSLs and approvers are themselves on the record (§3.5)."""
    if actor.roles & {Role.dsl, Role.approver, *TRUST_ROLES}:
        audit.record(
            session,
            actor=actor,
            at=at,
            action=action,
            object_type="message_log",
            object_id=None,
            school_id=school_id or actor.school_id,
            # The filters, but of a text search only how many words: what a DSL typed may
            # name a child, and the change record keeps it forever.
            details={
                **{k: v for k, v in asdict(where).items() if v is not None and k != "text"},
                **({"text_words": len(words_of(where.text))} if where.text else {}),
            },
        )


def search(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    where: LogFilter,
    cursor: str | None,
    limit: int,
) -> Page[MessagePublic]:
    """Newest first, paged by id: a page never shifts as new entries arrive."""
    query = search_query(session, actor, where, before=decode_int_cursor(cursor))
    page = fetch_page(
        session, query, col(Message.id), cursor=cursor, limit=limit, newest_first=True
    )
    record_access(session, actor, at, "access.search", where, where.school_id)
    return Page(items=message_views(session, page.items), next_cursor=page.next_cursor)


def start_export(
    *, session: Session, actor: Principal, at: datetime, where: LogFilter, max_rows: int
) -> int:
    """Check the export is allowed and within the cap, and put it on the record, before any
    row is streamed. The number of rows it will hold."""
    query = search_query(session, actor, where)
    rows = session.exec(select(func.count()).select_from(query.subquery())).one()
    if rows > max_rows:
        raise InvalidInput(
            f"The selection holds {rows} entries; an export takes at most {max_rows}. "
            "Narrow it by date, staff, pupil or flag.",
            extra={"errors": [{"field": "from", "in": "query", "message": "selection too large"}]},
        )
    record_access(session, actor, at, "access.export", where, where.school_id)
    return rows


def review_message(
    *, session: Session, actor: Principal, at: datetime, message_id: int, review_in: ReviewCreate
) -> MessageReview:
    message = _for_review(session, actor, message_id)
    assert actor.staff_id is not None
    if message.staff_id == actor.staff_id:
        raise RuleBroken("Nobody reviews their own communications.")
    # One review mark per entry: two DSLs pressing "reviewed" at once leave one review, not two.
    once.claim(
        session,
        Message,
        message_id,
        still=col(Message.reviewed_at).is_(None),
        values={"reviewed_at": at},
        too_late="This entry has already been reviewed.",
    )
    review = MessageReview(
        message_id=message_id, reviewer_id=actor.staff_id, reviewed_at=at, note=review_in.note
    )
    session.add(review)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="message.reviewed",
        object_type="message",
        object_id=message_id,
        school_id=message.school_id,
        sealed=seals.seal(session, ("message", message_id), ("message_review", review.id)),
    )
    return review


@dataclass(frozen=True)
class QueueEntry:
    message: MessagePublic
    waiting_seconds: int
    sampled: bool


def review_queue(
    *, session: Session, actor: Principal, at: datetime, cursor: str | None, limit: int
) -> Page[QueueEntry]:
    """Flagged (and sampled) entries nobody has reviewed yet, oldest first."""
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.dsl, action="work through the review queue")
    query = select(Message).where(
        Message.school_id == school.id,
        col(Message.needs_review),
        col(Message.reviewed_at).is_(None),
    )
    page = fetch_page(session, query, col(Message.id), cursor=cursor, limit=limit)
    return Page(items=_entries(session, page.items, at), next_cursor=page.next_cursor)


def review_entry(
    *, session: Session, actor: Principal, at: datetime, message_id: int
) -> QueueEntry:
    """One entry of the log as the review queue shows it, for the DSL its email reaches."""
    [entry] = _entries(session, [_for_review(session, actor, message_id)], at)
    return entry


def _for_review(session: Session, actor: Principal, message_id: int) -> Message:
    """The entry, if it is in a school the actor reviews the log of (a DSL's)."""
    message = get_scoped(session, actor, Message, message_id, "No such message.")
    school = visible_school(session, actor, message.school_id)
    require_role(actor, school, Role.dsl, action="review the log")
    return message


def _entries(session: Session, rows: Sequence[Message], at: datetime) -> list[QueueEntry]:
    return [
        QueueEntry(view, int((at - row.logged_at).total_seconds()), row.sampled)
        for row, view in zip(rows, message_views(session, rows), strict=True)
    ]
