"""The second factor, and privileged changes that wait for a second person."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CurrentPrincipal, SessionDep, SettingsDep
from core import mfa
from core.clock import now
from core.directory import privileged
from core.directory.models import Forbid, RecordId, Staff
from core.directory.privileged import ChangeKind, PendingChangePublic
from core.directory.staff import staff_for_admin

router = APIRouter(tags=["access"])


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


def _me(session: SessionDep, actor: CurrentPrincipal) -> Staff:
    staff = session.get(Staff, actor.staff_id)
    assert staff is not None
    return staff


@router.post("/me/mfa", response_model=EnrolmentPublic)
def begin_enrolment(
    session: SessionDep, actor: CurrentPrincipal, settings: SettingsDep
) -> EnrolmentPublic:
    """A new secret for your authenticator app (scan the QR code); confirm it with a code."""
    enrolment = mfa.begin(session, staff=_me(session, actor), issuer=settings.mfa_issuer, at=now())
    return EnrolmentPublic(**enrolment.__dict__)


@router.post("/me/mfa/confirm", response_model=RecoveryCodesPublic)
def confirm_enrolment(
    body: CodeCreate, session: SessionDep, actor: CurrentPrincipal
) -> RecoveryCodesPublic:
    """The first code from the app turns the second factor on; then sign in again with a code."""
    codes = mfa.confirm(session, actor=actor, staff=_me(session, actor), code=body.code, at=now())
    return RecoveryCodesPublic(recovery_codes=codes)


@router.post("/staff/{staff_id:int}/mfa-reset", response_model=PendingChangePublic, status_code=202)
def propose_mfa_reset(
    staff_id: RecordId, session: SessionDep, actor: CurrentPrincipal, settings: SettingsDep
) -> PendingChangePublic:
    """Someone lost their phone: remove their second factor once a second person confirms."""
    staff, school = staff_for_admin(session=session, actor=actor, staff_id=staff_id)
    at = now()
    change = privileged.propose(
        session,
        actor=actor,
        staff=staff,
        school=school,
        kind=ChangeKind.mfa_reset,
        settings=settings,
        at=at,
    )
    return privileged.public(change, at)


@router.get("/pending-changes", response_model=list[PendingChangePublic])
def list_pending_changes(session: SessionDep, actor: CurrentPrincipal) -> object:
    """Privileged changes waiting for a second person that you may confirm or refuse."""
    return privileged.list_pending(session=session, actor=actor, at=now())


@router.post("/pending-changes/{change_id:int}/confirm", response_model=PendingChangePublic)
def confirm_change(change_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    return privileged.decide(
        session=session, actor=actor, change_id=change_id, confirm=True, at=now()
    )


@router.post("/pending-changes/{change_id:int}/refuse", response_model=PendingChangePublic)
def refuse_change(change_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    return privileged.decide(
        session=session, actor=actor, change_id=change_id, confirm=False, at=now()
    )
