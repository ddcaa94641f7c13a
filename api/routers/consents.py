"""Parental consent (under the consent age) and parent notices (at or over it), recorded by
admins and DSLs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ActingDep, PagingDep
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from consent import refusals, requests
from consent import service as consent
from consent.models import (
    ConsentCreate,
    ConsentPublic,
    ConsentRequestPublic,
    ParentNoticeCreate,
    ParentNoticePublic,
    ResolutionCreate,
    WithdrawalCreate,
)
from contacts.consenting import CONTACTS
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["consent"])


@router.post("/pupils/{pupil_id:int}/consents", response_model=ConsentPublic, status_code=201)
def record_consent(
    pupil_id: RecordId, body: ConsentCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """A parent or carer with parental responsibility consents to one contact (§5.5)."""
    if replayed := idem.replay(acting, body):
        return replayed
    recorded = consent.record_consent(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contacts=CONTACTS,
        pupil_id=pupil_id,
        consent_in=body,
    )
    return idem.answer(ConsentPublic.model_validate(recorded))


@router.get("/pupils/{pupil_id:int}/consents", response_model=list[ConsentPublic])
def list_consents(pupil_id: RecordId, acting: ActingDep) -> object:
    return consent.list_consents(session=acting.session, actor=acting.actor, pupil_id=pupil_id)


@router.post("/consents/{consent_id:int}/withdrawal", response_model=ConsentPublic, status_code=200)
def withdraw_consent(
    consent_id: RecordId, body: WithdrawalCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """The pupil's part of the contact ends at once; its holder must delete the contact method."""
    if replayed := idem.replay(acting, body):
        return replayed
    withdrawn = consent.withdraw_consent(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contacts=CONTACTS,
        consent_id=consent_id,
        withdrawal=body,
    )
    return idem.answer(ConsentPublic.model_validate(withdrawn), status_code=200)


@router.post(
    "/pupils/{pupil_id:int}/parent-notices", response_model=ParentNoticePublic, status_code=201
)
def record_parent_notice(
    pupil_id: RecordId, body: ParentNoticeCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """At or over the consent age: parents were informed and the reason explained (§5.5)."""
    if replayed := idem.replay(acting, body):
        return replayed
    notice = consent.record_parent_notice(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contacts=CONTACTS,
        pupil_id=pupil_id,
        notice_in=body,
    )
    return idem.answer(ParentNoticePublic.model_validate(notice))


@router.get("/pupils/{pupil_id:int}/parent-notices", response_model=list[ParentNoticePublic])
def list_parent_notices(pupil_id: RecordId, acting: ActingDep) -> object:
    return consent.list_parent_notices(
        session=acting.session, actor=acting.actor, pupil_id=pupil_id
    )


class RequestsSent(BaseModel):
    items: list[ConsentRequestPublic]


@router.post(
    "/contacts/{contact_id:int}/consent-requests", response_model=RequestsSent, status_code=201
)
def ask_for_consent(contact_id: RecordId, acting: ActingDep, idem: IdempotentDep) -> object:
    """Email each guardian with parental responsibility of every under-age pupil on the
    approved contact who has no consent yet a one-time link to give or decline it (§5.5).
    A guardian already waiting on a request is not asked again; send with an Idempotency-Key
    to retry safely."""
    if replayed := idem.replay(acting):
        return replayed
    made = requests.send_requests(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contacts=CONTACTS,
        contact_id=contact_id,
        base_url=acting.settings.public_url,
    )
    return idem.answer(
        RequestsSent(items=[requests.public(acting.session, r, acting.at) for r in made])
    )


@router.get(
    "/contacts/{contact_id:int}/consent-requests",
    response_model=list[ConsentRequestPublic],
)
def consent_requests(contact_id: RecordId, acting: ActingDep) -> object:
    """Each request's state: waiting, given, declined, withdrawn, or no answer (expired)."""
    return requests.list_requests(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        contacts=CONTACTS,
        contact_id=contact_id,
    )


@router.get("/consent-refusals", response_model=Page[ConsentRequestPublic])
def refusals_to_resolve(acting: ActingDep, paging: PagingDep) -> object:
    """The school's parental refusals not yet resolved, the oldest first (for its DSLs and
    headteacher): each stops contact with its pupil on its contact until it is resolved."""
    found = refusals.to_resolve(
        session=acting.session, actor=acting.actor, cursor=paging.cursor, limit=paging.limit
    )
    return Page(
        items=[requests.public(acting.session, r, acting.at) for r in found.items],
        next_cursor=found.next_cursor,
    )


@router.post("/consent-requests/{request_id:int}/resolution", response_model=ConsentRequestPublic)
def resolve_refusal(request_id: RecordId, body: ResolutionCreate, acting: ActingDep) -> object:
    """The school has talked a parent's refusal through with the family and says how: the
    refusal no longer stops the contact (consent given by a guardian then counts again). Once;
    a second answer is 409."""
    resolved = refusals.resolve(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        contacts=CONTACTS,
        request_id=request_id,
        resolution=body,
    )
    return requests.public(acting.session, resolved, acting.at)
