"""The change record for DSLs: read it, and verify that nobody has altered it."""

from __future__ import annotations

from typing import ClassVar

from fastapi import APIRouter
from pydantic import Field

from api.deps import ActingDep, PagingDep
from api.routing import UnitOfWorkRoute
from core.inputs import Forbid, RecordId
from core.pagination import Page
from core.record import change_record, checkpoints
from core.record.audit import AuditEventPublic, EventFilter
from core.record.verification import VerifyResult

router = APIRouter(route_class=UnitOfWorkRoute, tags=["audit"])


@router.get("/audit/events", response_model=Page[AuditEventPublic])
def list_events(
    acting: ActingDep,
    paging: PagingDep,
    action: str | None = None,
    object_type: str | None = None,
    object_id: RecordId | None = None,
    actor_id: RecordId | None = None,
) -> object:
    """Events of my school (my trust's, for trust roles), in the chain's order."""
    return change_record.read_events(
        session=acting.session,
        actor=acting.actor,
        where=EventFilter(
            action=action, object_type=object_type, object_id=object_id, actor_id=actor_id
        ),
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/audit/verify", response_model=VerifyResult)
def verify(acting: ActingDep) -> object:
    """Recompute every link of the chain: `first_bad` is the first event that does not match.
    A check made in the last `VERIFY_REUSE_SECONDS` is served again (`verified_at` says when)."""
    return change_record.verify(
        session=acting.session, actor=acting.actor, settings=acting.settings, at=acting.at
    )


@router.get("/audit/public-key", response_model=checkpoints.PublicKey)
def public_key(acting: ActingDep) -> object:
    """The key that signs checkpoints: keep a copy outside contactlog to check them against."""
    return change_record.public_key(
        session=acting.session, actor=acting.actor, settings=acting.settings
    )


@router.get("/audit/checkpoints", response_model=list[checkpoints.CheckpointPublic])
def list_checkpoints(acting: ActingDep, paging: PagingDep) -> object:
    """Signed checkpoints of the change record's head, newest first (emailed to DSLs daily)."""
    return change_record.list_checkpoints(
        session=acting.session, actor=acting.actor, limit=paging.limit
    )


class CheckpointCheck(Forbid):
    free_text: ClassVar[frozenset[str]] = frozenset({"public_key"})

    checkpoint: checkpoints.CheckpointIn
    public_key: str | None = Field(
        default=None, max_length=2000, description="The public key kept outside contactlog"
    )


@router.post("/audit/checkpoints/verify", response_model=checkpoints.CheckpointVerdict)
def verify_checkpoint(body: CheckpointCheck, acting: ActingDep) -> object:
    """Whether the change record up to a checkpoint (one kept elsewhere, say from an email) is
    still the one that was signed."""
    return change_record.check_checkpoint(
        session=acting.session,
        actor=acting.actor,
        checkpoint=body.checkpoint,
        trusted_key=body.public_key,
    )
