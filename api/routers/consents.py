"""Parental consent (under 16) and parent notices (16 and over), recorded by admins and DSLs."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal, SessionDep
from api.idempotency import IdempotentDep
from consent.models import (
    ConsentCreate,
    ConsentPublic,
    ParentNoticeCreate,
    ParentNoticePublic,
    WithdrawalCreate,
)
from contacts import consents
from core.directory.models import RecordId

router = APIRouter(tags=["consent"])


@router.post("/pupils/{pupil_id:int}/consents", response_model=ConsentPublic, status_code=201)
def record_consent(
    pupil_id: RecordId,
    body: ConsentCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """A parent or carer with parental responsibility consents to one contact (§5.5)."""
    return idem.create(
        body,
        lambda actor: consents.record_consent(
            session=session, actor=actor, pupil_id=pupil_id, consent_in=body
        ),
        ConsentPublic.model_validate,
    )


@router.get("/pupils/{pupil_id:int}/consents", response_model=list[ConsentPublic])
def list_consents(pupil_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    return consents.list_consents(session=session, actor=actor, pupil_id=pupil_id)


@router.post("/consents/{consent_id:int}/withdrawal", response_model=ConsentPublic, status_code=200)
def withdraw_consent(
    consent_id: RecordId,
    body: WithdrawalCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """The pupil's part of the contact ends at once; its holder must delete the contact method."""
    return idem.create(
        body,
        lambda actor: consents.withdraw_consent(
            session=session, actor=actor, consent_id=consent_id, withdrawal=body
        ),
        ConsentPublic.model_validate,
        status_code=200,
    )


@router.post(
    "/pupils/{pupil_id:int}/parent-notices", response_model=ParentNoticePublic, status_code=201
)
def record_parent_notice(
    pupil_id: RecordId,
    body: ParentNoticeCreate,
    session: SessionDep,
    idem: IdempotentDep,
) -> object:
    """For a pupil of 16 or over: parents were informed and the reason explained (§5.5)."""
    return idem.create(
        body,
        lambda actor: consents.record_parent_notice(
            session=session, actor=actor, pupil_id=pupil_id, notice_in=body
        ),
        ParentNoticePublic.model_validate,
    )


@router.get("/pupils/{pupil_id:int}/parent-notices", response_model=list[ParentNoticePublic])
def list_parent_notices(pupil_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    return consents.list_parent_notices(session=session, actor=actor, pupil_id=pupil_id)
