"""The email outbox for admins: every email contactlog queued, and whether it was delivered."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep, PagingDep
from api.routing import UnitOfWorkRoute
from core import outbox
from core.models import OutboxState
from core.outbox import OutboxEmailPublic
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["outbox"])


@router.get("/outbox", response_model=Page[OutboxEmailPublic])
def list_outbox(acting: ActingDep, paging: PagingDep, state: OutboxState | None = None) -> object:
    return outbox.list_emails(
        session=acting.session,
        actor=acting.actor,
        state=state,
        cursor=paging.cursor,
        limit=paging.limit,
    )
