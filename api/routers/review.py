"""The DSL's review: search and export the log, the review queue, chronologies, the summary."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.deps import CurrentPrincipal, PagingDep, SessionDep, SettingsDep, get_database
from api.idempotency import IdempotentDep
from contacts import chronology, review
from contacts.incident_models import MessageReviewPublic, ReviewCreate
from contacts.models import Flag, MessagePublic, Platform
from contacts.summary import Summary, summary
from core.directory.models import Instant, RecordId
from core.pagination import Page

router = APIRouter(tags=["review"])


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
    )


FilterDep = Annotated[review.LogFilter, Depends(log_filter)]


@router.get(
    "/messages",
    response_model=Page[MessagePublic],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV export"}},
)
def search_messages(
    request: Request,
    where: FilterDep,
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    settings: SettingsDep,
) -> object:
    """Search the log, newest first. With `Accept: text/csv` the whole selection is exported."""
    if "text/csv" in request.headers.get("accept", ""):
        review.start_export(
            session=session, actor=actor, where=where, max_rows=settings.max_export_rows
        )
        return StreamingResponse(
            review.export_csv(get_database(request), actor, where),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="contactlog-messages.csv"'},
        )
    return review.search(
        session=session, actor=actor, where=where, cursor=paging.cursor, limit=paging.limit
    )


@router.post(
    "/messages/{message_id:int}/reviews", response_model=MessageReviewPublic, status_code=201
)
def review_message(
    message_id: RecordId,
    body: ReviewCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """A DSL marks an entry reviewed, with a note. It leaves the review queue."""
    return idem.create(
        body,
        lambda actor: review.review_message(
            session=session, actor=actor, message_id=message_id, review_in=body
        ),
        MessageReviewPublic.model_validate,
    )


class QueueEntryPublic(BaseModel):
    message: MessagePublic
    waiting_seconds: int
    sampled: bool


@router.get("/review-queue", response_model=Page[QueueEntryPublic])
def review_queue(session: SessionDep, actor: CurrentPrincipal, paging: PagingDep) -> object:
    """Flagged, lexicon-flagged and sampled entries nobody has reviewed, oldest first."""
    entries, cursor = review.review_queue(
        session=session, actor=actor, cursor=paging.cursor, limit=paging.limit
    )
    return Page(
        items=[QueueEntryPublic(**e.__dict__) for e in entries],
        next_cursor=cursor,
    )


@router.get("/pupils/{pupil_id:int}/chronology", response_model=Page[chronology.ChronologyEntry])
def pupil_chronology(
    pupil_id: RecordId, session: SessionDep, actor: CurrentPrincipal, paging: PagingDep
) -> object:
    return chronology.pupil_chronology(
        session=session, actor=actor, pupil_id=pupil_id, cursor=paging.cursor, limit=paging.limit
    )


@router.get("/staff/{staff_id:int}/chronology", response_model=Page[chronology.ChronologyEntry])
def staff_chronology(
    staff_id: RecordId, session: SessionDep, actor: CurrentPrincipal, paging: PagingDep
) -> object:
    return chronology.staff_chronology(
        session=session, actor=actor, staff_id=staff_id, cursor=paging.cursor, limit=paging.limit
    )


@router.get("/summary", response_model=Summary)
def get_summary(session: SessionDep, actor: CurrentPrincipal) -> object:
    """Active contacts, missing consents, overdue deletions, open incidents, and the review
    queue: `awaiting_review` (flagged and sampled entries), of which `unreviewed_flagged`."""
    return summary(session=session, actor=actor)
