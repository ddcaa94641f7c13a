"""Pupils, their guardians, and the import of the school's MIS pupil list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.deps import ActingDep, PagingDep
from api.idempotency import IdempotentDep
from api.routing import UnitOfWorkRoute
from core.directory import pupils
from core.directory.models import (
    GuardianCreate,
    GuardianPublic,
    PupilCreate,
    PupilPublic,
    PupilUpdate,
)
from core.directory.pupil_import import decode, import_pupils
from core.errors import DomainError
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["pupils"])


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class ImportReportPublic(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int
    # Pupils with records whose new dates wait for a second person (GET /pending-changes).
    dates_waiting: int = 0


async def csv_text(request: Request) -> str:
    """The request body as text: UTF-8 (with or without BOM), or Windows-1252 from older MIS."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("text/csv", "text/plain", "application/csv"):
        raise UnsupportedMediaType("Send the pupil list as a text/csv body.")
    return decode(await request.body())


CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": (
                    "UPN,Legal Forename,Legal Surname,DOB\nA123456789012,Sam,Jones,2010-09-01\n"
                ),
            }
        },
    }
}


@router.post("/pupils", response_model=PupilPublic, status_code=201)
def create_pupil(body: PupilCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    if replayed := idem.replay(acting, body):
        return replayed
    pupil = pupils.create_pupil(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        pupil_in=body,
    )
    return idem.answer(PupilPublic.model_validate(pupil))


@router.post("/pupils/import", response_model=ImportReportPublic, openapi_extra=CSV_BODY)
def import_pupil_list(
    text: Annotated[str, Depends(csv_text)],
    acting: ActingDep,
    school_id: RecordId | None = None,
) -> object:
    """All rows or none: a file with any bad row is refused with a report of every bad row."""
    return import_pupils(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        settings=acting.settings,
        at=acting.at,
        csv_text=text,
        school_id=school_id,
    )


@router.get("/pupils", response_model=Page[PupilPublic])
def list_pupils(
    acting: ActingDep,
    paging: PagingDep,
    school_id: RecordId | None = None,
) -> object:
    return pupils.list_pupils(
        session=acting.session,
        actor=acting.actor,
        school_id=school_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/pupils/{pupil_id:int}", response_model=PupilPublic)
def get_pupil(pupil_id: RecordId, acting: ActingDep) -> object:
    return pupils.get_pupil(session=acting.session, actor=acting.actor, pupil_id=pupil_id)


class PupilChangedPublic(PupilPublic):
    # A new date of birth or leaving date for a pupil with records waits for a second person
    # (GET /pending-changes): the record above still holds the old one until then.
    pending_change_id: int | None = None


@router.patch("/pupils/{pupil_id:int}", response_model=PupilChangedPublic)
def update_pupil(pupil_id: RecordId, body: PupilUpdate, acting: ActingDep) -> object:
    changed = pupils.update_pupil(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        settings=acting.settings,
        at=acting.at,
        pupil_id=pupil_id,
        changes=body,
    )
    return PupilChangedPublic.model_validate(
        {
            **changed.pupil.model_dump(),
            "pending_change_id": changed.waiting.id if changed.waiting else None,
        }
    )


@router.post("/pupils/{pupil_id:int}/guardians", response_model=GuardianPublic, status_code=201)
def add_guardian(
    pupil_id: RecordId, body: GuardianCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    if replayed := idem.replay(acting, body):
        return replayed
    guardian = pupils.add_guardian(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        pupil_id=pupil_id,
        guardian_in=body,
    )
    return idem.answer(GuardianPublic.model_validate(guardian))


@router.get("/pupils/{pupil_id:int}/guardians", response_model=list[GuardianPublic])
def list_guardians(pupil_id: RecordId, acting: ActingDep) -> object:
    return pupils.list_guardians(session=acting.session, actor=acting.actor, pupil_id=pupil_id)
