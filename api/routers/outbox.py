"""The email outbox for admins: every email contactlog queued, and whether it was delivered."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from api.deps import CurrentPrincipal, PagingDep, SessionDep
from core.directory.access import require_role, visible_school
from core.directory.models import Role
from core.outbox import OutboxEmail, OutboxEmailPublic, OutboxState
from core.pagination import Page, after_id, page_by_id

router = APIRouter(tags=["outbox"])


@router.get("/outbox", response_model=Page[OutboxEmailPublic])
def list_outbox(
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    state: OutboxState | None = None,
) -> object:
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.admin, action="read the outbox")
    query = select(OutboxEmail)
    if not actor.has(Role.trust_admin):
        query = query.where(OutboxEmail.school_id == school.id)
    if state is not None:
        query = query.where(OutboxEmail.state == state)
    rows = session.exec(after_id(query, col(OutboxEmail.id), paging.cursor, paging.limit)).all()
    return page_by_id(rows, paging.limit)
