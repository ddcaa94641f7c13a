"""The change record for DSLs: read it, and verify that nobody has altered it."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import CurrentPrincipal, PagingDep, SessionDep
from core import audit, verification
from core.audit import AuditEventPublic
from core.clock import now
from core.directory.access import require_role, visible_school
from core.directory.models import TRUST_ROLES, RecordId, Role
from core.directory.schools import list_schools
from core.pagination import Page, decode_int_cursor, encode_cursor
from core.settings import Settings
from core.verification import VerifyResult

router = APIRouter(tags=["audit"])


@router.get("/audit/events", response_model=Page[AuditEventPublic])
def list_events(
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    action: str | None = None,
    object_type: str | None = None,
    object_id: RecordId | None = None,
    actor_id: RecordId | None = None,
) -> object:
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.dsl, action="read the change record")
    schools = (
        [s.id for s in list_schools(session=session, actor=actor) if s.id is not None]
        if actor.roles & TRUST_ROLES
        else [school.id]
    )
    rows = audit.list_events(
        session,
        where=audit.EventFilter(
            school_ids=schools,  # type: ignore[arg-type]
            action=action,
            object_type=object_type,
            object_id=object_id,
            actor_id=actor_id,
        ),
        after=decode_int_cursor(paging.cursor),
        limit=paging.limit,
    )
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    return Page(
        items=[audit.public(e) for e in rows],
        next_cursor=encode_cursor(rows[-1].seq) if more and rows else None,
    )


@router.get("/audit/verify", response_model=VerifyResult)
def verify(session: SessionDep, actor: CurrentPrincipal, request: Request) -> object:
    """Recompute every link of the chain: `first_bad` is the first event that does not match.
    A check made in the last `VERIFY_REUSE_SECONDS` is served again (`verified_at` says when)."""
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.dsl, action="verify the change record")
    settings: Settings = request.app.state.settings
    return verification.verify_or_reuse(
        session, at=now(), reuse_seconds=settings.verify_reuse_seconds
    )
