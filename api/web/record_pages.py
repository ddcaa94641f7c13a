"""The change record on a page, for DSLs: every change of their schools, the latest first, with
who made it by name; whether it verifies; and the trust's log, its signed checkpoints and the
verifier key, to be kept outside contactlog (an email, a printout) and checked against it
later. And the page that leads to the record's keeping: holds, subject access, retention, the
change record."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageDep
from api.web.render import PAGE_SIZE, page_for, paged
from core.directory.names import school_names, staff_names
from core.errors import NotFound
from core.record import change_record
from core.record.audit import EventFilter
from core.roles import TRUST_ROLES

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# The page of each kind of record, for a DSL's lists to link to (a change, a hold, a request).
RECORD_PAGES = {
    "pupil": "/app/pupils/{}/chronology",
    "staff": "/app/staff/{}",
    "contact": "/app/contacts/{}",
    "incident": "/app/incidents/{}",
    "message": "/app/review/{}",
    "legal_hold": "/app/legal-holds",
    "subject_access_request": "/app/subject-access",
}
# How many checkpoints the page lists (the latest first): each vouches for all before it.
CHECKPOINTS_SHOWN = 10


@router.get("/app/change-record")
def change_record_page(
    acting: PageDep, cursor: str | None = None, what: str | None = None
) -> Response:
    events = change_record.read_events(
        session=acting.session,
        actor=acting.actor,
        where=EventFilter(object_type=what or None),
        cursor=cursor,
        limit=PAGE_SIZE,
        newest_first=True,
    )
    # The latest full check on file, with the records it found altered (of my schools).
    check = change_record.verify(session=acting.session, actor=acting.actor)
    try:
        log = change_record.read_log(
            session=acting.session, actor=acting.actor, settings=acting.settings
        )
    except NotFound:  # no event of the trust has joined a log yet
        log = None
    return page_for(
        acting,
        "change_record.html",
        title="The change record",
        pager=paged(acting, events),
        what=what or "",
        kinds=sorted([*RECORD_PAGES, "consent", "device"]),
        people=staff_names(acting.session, acting.actor, (e.actor_id for e in events.items)),
        schools=school_names(acting.session, acting.actor),
        trust_wide=bool(acting.actor.roles & TRUST_ROLES),
        record_pages=RECORD_PAGES,
        check=check,
        log=log,
        checkpoints=change_record.log_checkpoints(
            session=acting.session, actor=acting.actor, limit=CHECKPOINTS_SHOWN, before=None
        )
        if log is not None
        else [],
    )


@router.get("/app/records")
def records(acting: PageDep) -> Response:
    """Where a DSL keeps the record: each job's page, with what is waiting on it."""
    change_record.read_events(  # refused to anyone who may not read the record
        session=acting.session, actor=acting.actor, where=EventFilter(), cursor=None, limit=1
    )
    return page_for(
        acting,
        "records.html",
        title="Records and data protection",
        check=change_record.verify(session=acting.session, actor=acting.actor),
    )
