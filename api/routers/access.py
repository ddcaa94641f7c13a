"""The second factor, and privileged changes that wait for a second person."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ActingDep
from api.routing import UnitOfWorkRoute
from core.directory import privileged
from core.directory.models import PendingChangePublic
from core.directory.staff import propose_second_factor_reset
from core.identity import mfa
from core.inputs import Forbid, RecordId

router = APIRouter(route_class=UnitOfWorkRoute, tags=["access"])


class EnrolmentPublic(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code, an SVG to show on screen")


class CodeCreate(Forbid):
    code: str = Field(min_length=6, max_length=20)


class RecoveryCodesPublic(BaseModel):
    recovery_codes: list[str] = Field(
        description="Each signs in once in place of a code; shown only now: keep them safe"
    )


@router.post("/me/mfa", response_model=EnrolmentPublic)
def begin_enrolment(acting: ActingDep) -> EnrolmentPublic:
    """A new secret for your authenticator app (scan the QR code); confirm it with a code."""
    enrolment = mfa.start_enrolment(
        session=acting.session, actor=acting.actor, settings=acting.settings, at=acting.at
    )
    return EnrolmentPublic(**enrolment.__dict__)


@router.post("/me/mfa/confirm", response_model=RecoveryCodesPublic)
def confirm_enrolment(body: CodeCreate, acting: ActingDep) -> RecoveryCodesPublic:
    """The first code from the app turns the second factor on; then sign in again with a code."""
    codes = mfa.confirm_enrolment(
        session=acting.session,
        actor=acting.actor,
        settings=acting.settings,
        at=acting.at,
        code=body.code,
    )
    return RecoveryCodesPublic(recovery_codes=codes)


@router.post("/staff/{staff_id:int}/mfa-reset", response_model=PendingChangePublic, status_code=202)
def propose_mfa_reset(staff_id: RecordId, acting: ActingDep) -> PendingChangePublic:
    """Someone lost their phone: remove their second factor once a second person confirms."""
    return propose_second_factor_reset(
        session=acting.session,
        actor=acting.actor,
        settings=acting.settings,
        at=acting.at,
        staff_id=staff_id,
    )


@router.get("/pending-changes", response_model=list[PendingChangePublic])
def list_pending_changes(acting: ActingDep) -> object:
    """Privileged changes waiting for a second person that you may confirm or refuse."""
    return privileged.list_pending(session=acting.session, actor=acting.actor, at=acting.at)


@router.post("/pending-changes/{change_id:int}/confirm", response_model=PendingChangePublic)
def confirm_change(change_id: RecordId, acting: ActingDep) -> object:
    """The second person confirms: the change takes effect now."""
    return privileged.decide(
        session=acting.session, actor=acting.actor, change_id=change_id, confirm=True, at=acting.at
    )


@router.post("/pending-changes/{change_id:int}/refuse", response_model=PendingChangePublic)
def refuse_change(change_id: RecordId, acting: ActingDep) -> object:
    """The second person refuses: nothing changes."""
    return privileged.decide(
        session=acting.session, actor=acting.actor, change_id=change_id, confirm=False, at=acting.at
    )
