"""Schools of the trust and their device registers."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActingDep, PagingDep
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from core.directory import schools
from core.directory.models import (
    DeviceCreate,
    DevicePublic,
    DeviceUpdate,
    SchoolCreate,
    SchoolPublic,
)
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute)


@router.post("/schools", response_model=SchoolPublic, status_code=201, tags=["schools"])
def create_school(body: SchoolCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    """A new school of the trust, by its trust admin."""
    if replayed := idem.replay(acting, body):
        return replayed
    school = schools.create_school(
        session=acting.session, actor=acting.actor, at=acting.at, school_in=body
    )
    return idem.answer(SchoolPublic.model_validate(school))


@router.get("/schools", response_model=list[SchoolPublic], tags=["schools"])
def list_schools(acting: ActingDep) -> object:
    return schools.list_schools(session=acting.session, actor=acting.actor)


@router.get("/schools/{school_id:int}", response_model=SchoolPublic, tags=["schools"])
def get_school(school_id: RecordId, acting: ActingDep) -> object:
    return schools.get_school(session=acting.session, actor=acting.actor, school_id=school_id)


@router.post("/devices", response_model=DevicePublic, status_code=201, tags=["devices"])
def register_device(body: DeviceCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    """A school-owned device, the only kind staff may contact pupils from."""
    if replayed := idem.replay(acting, body):
        return replayed
    device = schools.register_device(
        session=acting.session, actor=acting.actor, at=acting.at, device_in=body
    )
    return idem.answer(DevicePublic.model_validate(device))


@router.get("/devices", response_model=Page[DevicePublic], tags=["devices"])
def list_devices(
    acting: ActingDep,
    paging: PagingDep,
    school_id: RecordId | None = None,
    active: bool | None = None,
) -> object:
    return schools.list_devices(
        session=acting.session,
        actor=acting.actor,
        school_id=school_id,
        active=active,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/devices/{device_id:int}", response_model=DevicePublic, tags=["devices"])
def get_device(device_id: RecordId, acting: ActingDep) -> object:
    return schools.get_device(session=acting.session, actor=acting.actor, device_id=device_id)


@router.patch("/devices/{device_id:int}", response_model=DevicePublic, tags=["devices"])
def update_device(device_id: RecordId, body: DeviceUpdate, acting: ActingDep) -> object:
    return schools.update_device(
        session=acting.session, actor=acting.actor, at=acting.at, device_id=device_id, changes=body
    )
