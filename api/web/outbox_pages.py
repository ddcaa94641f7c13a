"""The outbox on a page, for the school's admins: every email contactlog queued, the latest
first, and which were delivered, are waiting, or were given up (an undelivered email's alert
links here)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageDep
from api.web.render import PAGE_SIZE, page_for, paged
from core import outbox
from core.directory.names import staff_names
from core.models import OutboxState
from core.outbox import OutboxEmailPublic
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/app/outbox")
def outbox_page(
    acting: PageDep, state: OutboxState | None = None, cursor: str | None = None
) -> Response:
    found = outbox.list_emails(
        session=acting.session,
        actor=acting.actor,
        state=state,
        cursor=cursor,
        limit=PAGE_SIZE,
        newest_first=True,
    )
    shown: Page[OutboxEmailPublic] = Page(
        items=[OutboxEmailPublic.model_validate(e, from_attributes=True) for e in found.items],
        next_cursor=found.next_cursor,
    )
    return page_for(
        acting,
        "outbox.html",
        title="Emails sent",
        pager=paged(acting, shown),
        state=state.value if state else "",
        states=list(OutboxState),
        people=staff_names(acting.session, acting.actor, (e.to_staff_id for e in found.items)),
    )
