"""The DSL's review: search and export the log, the review queue, chronologies, the summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import ActingDep, PagingDep, RecordedRead, get_database
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from contacts.models import Flag, MessagePublic, Platform
from contacts.oversight import chronology
from contacts.oversight.entries import ChronologyEntry
from contacts.oversight.review import service as review
from contacts.oversight.review.export import export_csv
from contacts.oversight.review.models import MessageReviewPublic, ReviewCreate
from contacts.oversight.review.words import LONGEST
from contacts.oversight.summary import Summary, summary
from core.inputs import Instant, RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["review"])


def log_filter(
    school_id: RecordId | None = None,
    staff_id: RecordId | None = None,
    pupil_id: RecordId | None = None,
    platform: Platform | None = None,
    flag: Flag | None = None,
    reviewed: bool | None = None,
    from_: Annotated[
        Instant | None, Query(alias="from", description="occurred at or after")
    ] = None,
    to: Annotated[Instant | None, Query(description="occurred before")] = None,
    text: Annotated[
        str | None,
        Query(
            max_length=LONGEST,
            description="words every summary found holds (English stemming: 'reminders' "
            "finds 'reminded'); the words are not written to the change record",
        ),
    ] = None,
) -> review.LogFilter:
    return review.LogFilter(
        school_id=school_id,
        staff_id=staff_id,
        pupil_id=pupil_id,
        platform=platform,
        flag=flag,
        reviewed=reviewed,
        occurred_from=from_,
        occurred_to=to,
        text=text,
    )


FilterDep = Annotated[review.LogFilter, Depends(log_filter)]


@router.get(
    "/messages",
    response_model=Page[MessagePublic],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV export"}},
)
def search_messages(
    request: Request, where: FilterDep, acting: RecordedRead, paging: PagingDep
) -> object:
    """Search the log, newest first. With `Accept: text/csv` the whole selection is exported.
    Either way the search is itself recorded (§3.5)."""
    if "text/csv" in request.headers.get("accept", ""):
        review.start_export(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            where=where,
            max_rows=acting.settings.max_export_rows,
        )
        return StreamingResponse(
            export_csv(get_database(request), acting.actor, where),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="contactlog-messages.csv"'},
        )
    return review.search(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        where=where,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.post(
    "/messages/{message_id:int}/reviews", response_model=MessageReviewPublic, status_code=201
)
def review_message(
    message_id: RecordId, body: ReviewCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """A DSL marks an entry reviewed, with a note. It leaves the review queue."""
    if replayed := idem.replay(acting, body):
        return replayed
    mark = review.review_message(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        message_id=message_id,
        review_in=body,
    )
    return idem.answer(MessageReviewPublic.model_validate(mark))


class QueueEntryPublic(BaseModel):
    message: MessagePublic
    waiting_seconds: int
    sampled: bool


@router.get("/review-queue", response_model=Page[QueueEntryPublic])
def review_queue(acting: ActingDep, paging: PagingDep) -> object:
    """Flagged, lexicon-flagged and sampled entries nobody has reviewed, oldest first."""
    page = review.review_queue(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        cursor=paging.cursor,
        limit=paging.limit,
    )
    return Page(
        items=[QueueEntryPublic(**e.__dict__) for e in page.items], next_cursor=page.next_cursor
    )


@router.get("/pupils/{pupil_id:int}/chronology", response_model=Page[ChronologyEntry])
def pupil_chronology(pupil_id: RecordId, acting: RecordedRead, paging: PagingDep) -> object:
    """Everything on record about one pupil, newest first; the reading is itself recorded."""
    return chronology.pupil_chronology(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        pupil_id=pupil_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/staff/{staff_id:int}/chronology", response_model=Page[ChronologyEntry])
def staff_chronology(staff_id: RecordId, acting: RecordedRead, paging: PagingDep) -> object:
    """Everything on record about one member of staff; the reading is itself recorded."""
    return chronology.staff_chronology(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_id=staff_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/summary", response_model=Summary)
def get_summary(acting: ActingDep) -> object:
    """Active contacts, missing consents, overdue deletions, open incidents, and the review
    queue: `awaiting_review` (flagged and sampled entries), of which `unreviewed_flagged`."""
    return summary(session=acting.session, actor=acting.actor, policy=acting.policy, at=acting.at)
