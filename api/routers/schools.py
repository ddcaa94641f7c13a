"""Schools of the trust and their device registers."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal, PagingDep, SessionDep
from api.idempotency import IdempotentDep
from core.directory import schools
from core.directory.models import (
    DeviceCreate,
    DevicePublic,
    DeviceUpdate,
    RecordId,
    SchoolCreate,
    SchoolPublic,
)
from core.pagination import Page

router = APIRouter()


@router.post("/schools", response_model=SchoolPublic, status_code=201, tags=["schools"])
def create_school(body: SchoolCreate, session: SessionDep, idem: IdempotentDep) -> object:
    return idem.create(
        body,
        lambda actor: schools.create_school(session=session, actor=actor, school_in=body),
        SchoolPublic.model_validate,
    )


@router.get("/schools", response_model=list[SchoolPublic], tags=["schools"])
def list_schools(session: SessionDep, actor: CurrentPrincipal) -> object:
    return schools.list_schools(session=session, actor=actor)


@router.get("/schools/{school_id:int}", response_model=SchoolPublic, tags=["schools"])
def get_school(school_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    return schools.get_school(session=session, actor=actor, school_id=school_id)


@router.post("/devices", response_model=DevicePublic, status_code=201, tags=["devices"])
def register_device(body: DeviceCreate, session: SessionDep, idem: IdempotentDep) -> object:
    return idem.create(
        body,
        lambda actor: schools.register_device(session=session, actor=actor, device_in=body),
        DevicePublic.model_validate,
    )


@router.get("/devices", response_model=Page[DevicePublic], tags=["devices"])
def list_devices(
    session: SessionDep,
    actor: CurrentPrincipal,
    paging: PagingDep,
    school_id: RecordId | None = None,
    active: bool | None = None,
) -> object:
    return schools.list_devices(
        session=session,
        actor=actor,
        school_id=school_id,
        active=active,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/devices/{device_id:int}", response_model=DevicePublic, tags=["devices"])
def get_device(device_id: RecordId, session: SessionDep, actor: CurrentPrincipal) -> object:
    return schools.get_device(session=session, actor=actor, device_id=device_id)


@router.patch("/devices/{device_id:int}", response_model=DevicePublic, tags=["devices"])
def update_device(
    device_id: RecordId, body: DeviceUpdate, session: SessionDep, actor: CurrentPrincipal
) -> object:
    return schools.update_device(session=session, actor=actor, device_id=device_id, changes=body)
