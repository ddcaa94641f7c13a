"""Legal holds: a DSL keeps what an investigation needs from retention, and releases it after."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep, PagingDep
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from contacts.data_protection.legal_holds import service as holds
from contacts.data_protection.legal_holds.models import HoldCreate, HoldPublic, ReleaseCreate
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["legal holds"])


@router.post("/legal-holds", response_model=HoldPublic, status_code=201)
def place_hold(body: HoldCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    """Hold a pupil (and their contacts, messages, consents and incidents), a member of staff,
    a contact or an incident, for a case; retention skips whatever an active hold covers."""
    if replayed := idem.replay(acting, body):
        return replayed
    hold = holds.place_hold(session=acting.session, actor=acting.actor, at=acting.at, hold_in=body)
    return idem.answer(holds.public(hold))


@router.get("/legal-holds", response_model=Page[HoldPublic])
def list_holds(acting: ActingDep, paging: PagingDep, active_only: bool = False) -> object:
    """The school's holds (the trust's, for a trust DSL), released ones kept."""
    return holds.list_holds(
        session=acting.session,
        actor=acting.actor,
        active_only=active_only,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.post("/legal-holds/{hold_id:int}/release", response_model=HoldPublic, status_code=200)
def release_hold(
    hold_id: RecordId, body: ReleaseCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """Release one hold; any other hold on the same record still holds it."""
    if replayed := idem.replay(acting, body):
        return replayed
    hold = holds.release_hold(
        session=acting.session, actor=acting.actor, at=acting.at, hold_id=hold_id, release=body
    )
    return idem.answer(holds.public(hold), status_code=200)
