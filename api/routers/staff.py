"""Staff accounts: the school's directory of people who may act in contactlog."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal, PagingDep, PasswordsDep, SessionDep, SettingsDep
from api.idempotency import IdempotentDep
from core.directory import staff
from core.directory.models import RecordId, StaffCreate, StaffPublic, StaffUpdate
from core.pagination import Page

router = APIRouter(tags=["staff"])


@router.post("/staff", response_model=StaffPublic, status_code=201)
def create_staff(
    body: StaffCreate,
    session: SessionDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    idem: IdempotentDep,
) -> object:
    """A new account; its owner is emailed an invitation to choose their own password."""
    return idem.create(
        body,
        lambda actor: staff.create_staff(
            session=session, actor=actor, staff_in=body, passwords=passwords, settings=settings
        ),
        StaffPublic.model_validate,
    )


@router.get("/staff", response_model=Page[StaffPublic])
def list_staff(
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    school_id: RecordId | None = None,
    active: bool | None = None,
) -> object:
    return staff.list_staff(
        session=session,
        actor=actor,
        school_id=school_id,
        active=active,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/staff/{staff_id:int}", response_model=StaffPublic)
def get_staff(staff_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    return staff.get_staff(session=session, actor=actor, staff_id=staff_id)


@router.patch("/staff/{staff_id:int}", response_model=StaffPublic)
def update_staff(
    staff_id: RecordId,
    body: StaffUpdate,
    session: SessionDep,
    actor: CurrentPrincipal,
    settings: SettingsDep,
) -> object:
    """Change an account. Granting approver, dsl, admin or a trust role, or the headteacher
    mark, waits for a second person (`pending_roles`, `GET /pending-changes`)."""
    return staff.update_staff(
        session=session, actor=actor, staff_id=staff_id, changes=body, settings=settings
    )
