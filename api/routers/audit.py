"""The change record for DSLs: read it, and verify that nobody has altered it."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import Field

from api.deps import ActingDep, PagingDep
from api.routing import UnitOfWorkRoute
from core.inputs import Forbid, RecordId
from core.pagination import Page
from core.record import change_record, proofs
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
    """The latest full check (hourly, or when a DSL asks): every event against the leaf its
    trust's log holds for it, every log against its root, every record against its seal.
    `first_bad` is the first event that does not match and `problem` says how; `altered` names
    the records (of my schools); `verified_at` says when the check finished (`ok` is null before
    the first), and `checking` shows a newer check on its way."""
    return change_record.verify(session=acting.session, actor=acting.actor)


@router.post("/audit/verify", response_model=VerifyResult, status_code=202)
def check_now(acting: ActingDep) -> object:
    """Ask for a full check now: the scheduler makes it within seconds; `GET /audit/verify`
    shows it under way (`checking`), then its outcome. 409 while one is on its way, 429 within
    a minute of the last."""
    return change_record.check_now(session=acting.session, actor=acting.actor, at=acting.at)


# ---------------------------------------------------------------- the trust's verifiable log

Size = Annotated[int, Query(ge=0, le=2**62, description="A checkpoint's size (its events)")]
PROOF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "A C2SP tlog-proof"}
}


@router.get("/audit/log", response_model=change_record.LogPublic)
def read_log(acting: ActingDep) -> object:
    """My trust's log of the change record: its origin, size and verifier key, its latest
    signed checkpoint, and what the server's own check of it last found."""
    return change_record.read_log(
        session=acting.session, actor=acting.actor, settings=acting.settings
    )


@router.get("/audit/log/checkpoints", response_model=list[change_record.CheckpointNote])
def log_checkpoints(
    acting: ActingDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=0, le=2**62, description="Of fewer events")] = None,
) -> object:
    """The log's signed checkpoints (C2SP signed notes), newest first."""
    return change_record.log_checkpoints(
        session=acting.session, actor=acting.actor, limit=limit, before=before
    )


@router.get("/audit/events/{seq:int}/proof", response_class=PlainTextResponse, responses=PROOF)
def event_proof(
    seq: Annotated[int, Path(ge=1, le=2**62)], acting: ActingDep, size: Size | None = None
) -> PlainTextResponse:
    """The proof that an event is in the log, against its latest checkpoint (or the one of
    `size` events): C2SP tlog-proof, checkable offline with the trust's verifier key."""
    proven = change_record.event_proof(
        session=acting.session, actor=acting.actor, seq=seq, size=size
    )
    return PlainTextResponse(
        proven.proof,
        headers={"X-Log-Origin": proven.origin, "X-Log-Index": str(proven.leaf_index)},
    )


@router.get("/audit/log/consistency", response_model=change_record.ConsistencyProof)
def consistency(acting: ActingDep, old_size: Size, size: Size) -> object:
    """The proof that the log's checkpoint of `size` events extends its checkpoint of
    `old_size` (RFC 9162 consistency proof)."""
    return change_record.consistency_proof(
        session=acting.session, actor=acting.actor, old_size=old_size, size=size
    )


class KeptCheckpoint(Forbid):
    free_text: ClassVar[frozenset[str]] = frozenset({"note", "vkey"})

    note: str = Field(max_length=8000, description="The checkpoint as kept (signed note)")
    vkey: str | None = Field(
        default=None, max_length=500, description="The trust's verifier key, kept elsewhere"
    )


@router.post("/audit/log/checkpoints/verify", response_model=proofs.KeptVerdict)
def verify_kept(body: KeptCheckpoint, acting: ActingDep) -> object:
    """Whether the log still holds, unchanged, the events a checkpoint kept elsewhere (an
    email, a pack) vouched for."""
    return change_record.check_kept_note(
        session=acting.session,
        actor=acting.actor,
        settings=acting.settings,
        note=body.note,
        vkey=body.vkey,
    )
