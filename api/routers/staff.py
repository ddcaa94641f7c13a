"""Staff accounts: the school's directory of people who may act in contactlog."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep, PagingDep, PasswordsDep
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from core.directory import staff
from core.directory.models import StaffCreate, StaffPublic, StaffUpdate
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["staff"])


@router.post("/staff", response_model=StaffPublic, status_code=201)
def create_staff(
    body: StaffCreate, acting: ActingDep, passwords: PasswordsDep, idem: IdempotentDep
) -> object:
    """A new account; its owner is emailed an invitation to choose their own password."""
    if replayed := idem.replay(acting, body):
        return replayed
    created = staff.create_staff(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_in=body,
        passwords=passwords,
        settings=acting.settings,
    )
    return idem.answer(created)


@router.get("/staff", response_model=Page[StaffPublic])
def list_staff(
    acting: ActingDep,
    paging: PagingDep,
    school_id: RecordId | None = None,
    active: bool | None = None,
) -> object:
    return staff.list_staff(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        school_id=school_id,
        active=active,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/staff/{staff_id:int}", response_model=StaffPublic)
def get_staff(staff_id: RecordId, acting: ActingDep) -> object:
    return staff.get_staff(
        session=acting.session, actor=acting.actor, at=acting.at, staff_id=staff_id
    )


@router.patch("/staff/{staff_id:int}", response_model=StaffPublic)
def update_staff(
    staff_id: RecordId,
    body: StaffUpdate,
    acting: ActingDep,
) -> object:
    """Change an account. Granting approver, dsl, admin or a trust role, or the headteacher
    mark, waits for a second person (`pending_roles`, `GET /pending-changes`)."""
    return staff.update_staff(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_id=staff_id,
        changes=body,
        settings=acting.settings,
    )
