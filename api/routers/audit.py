"""The change record for DSLs: read it, and verify that nobody has altered it."""

from __future__ import annotations

from typing import ClassVar

from fastapi import APIRouter, Request
from pydantic import Field

from api.deps import CurrentPrincipal, PagingDep, SessionDep
from core import audit, checkpoints, verification
from core.audit import AuditEventPublic
from core.clock import now
from core.directory.access import require_role, visible_school
from core.directory.models import TRUST_ROLES, Forbid, RecordId, Role
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


def _dsl(session: SessionDep, actor: CurrentPrincipal, what: str) -> None:
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.dsl, action=what)


@router.get("/audit/public-key", response_model=checkpoints.PublicKey)
def public_key(session: SessionDep, actor: CurrentPrincipal, request: Request) -> object:
    """The key that signs checkpoints: keep a copy outside contactlog to check them against."""
    _dsl(session, actor, "read the checkpoints' public key")
    settings: Settings = request.app.state.settings
    return checkpoints.public_key(checkpoints.load_key(settings.checkpoint_key_path))


@router.get("/audit/checkpoints", response_model=list[checkpoints.CheckpointPublic])
def list_checkpoints(session: SessionDep, actor: CurrentPrincipal, paging: PagingDep) -> object:
    """Signed checkpoints of the change record's head, newest first (emailed to DSLs daily)."""
    _dsl(session, actor, "read the checkpoints")
    return [
        checkpoints.CheckpointPublic.model_validate(c, from_attributes=True)
        for c in checkpoints.listed(session, limit=paging.limit)
    ]


class CheckpointCheck(Forbid):
    free_text: ClassVar[frozenset[str]] = frozenset({"public_key"})

    checkpoint: checkpoints.CheckpointIn
    public_key: str | None = Field(
        default=None, max_length=2000, description="The public key kept outside contactlog"
    )


@router.post("/audit/checkpoints/verify", response_model=checkpoints.CheckpointVerdict)
def verify_checkpoint(
    body: CheckpointCheck, session: SessionDep, actor: CurrentPrincipal
) -> object:
    """Whether the change record up to a checkpoint (one kept elsewhere, say from an email) is
    still the one that was signed."""
    _dsl(session, actor, "check the change record")
    return checkpoints.verify_against(
        session, checkpoint=body.checkpoint, trusted_key=body.public_key
    )
