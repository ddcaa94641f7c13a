"""Subject access requests: recorded by a DSL, kept to the legal deadline, extended in time
with a reason, completed on record."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.deps import ActingDep, PagingDep, RecordedRead
from api.idempotency import IdempotentDep
from api.routers.evidence import streamed as _streamed
from api.routing import UnitOfWorkRoute
from contacts.data_protection.subject_access import export
from contacts.data_protection.subject_access import service as subject_access
from contacts.data_protection.subject_access.models import (
    CompletionCreate,
    ExtensionCreate,
    RequestCreate,
    RequestPublic,
)
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["subject access"])


@router.post("/subject-access-requests", response_model=RequestPublic, status_code=201)
def record_request(body: RequestCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    """A pupil's or a member of staff's request for their data; due one calendar month from
    the day it was received (the month's last day when it has no such day)."""
    if replayed := idem.replay(acting, body):
        return replayed
    recorded = subject_access.record_request(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        request_in=body,
    )
    return idem.answer(recorded)


@router.get("/subject-access-requests", response_model=Page[RequestPublic])
def list_requests(acting: ActingDep, paging: PagingDep, open_only: bool = False) -> object:
    """The school's requests (the trust's, for a trust DSL), each saying whether it is overdue."""
    return subject_access.list_requests(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        open_only=open_only,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.post(
    "/subject-access-requests/{request_id:int}/extension",
    response_model=RequestPublic,
    status_code=200,
)
def extend(
    request_id: RecordId, body: ExtensionCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """One or two further months, once, with the reason, before the first month ends."""
    if replayed := idem.replay(acting, body):
        return replayed
    extended = subject_access.extend(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        request_id=request_id,
        extension=body,
    )
    return idem.answer(extended, status_code=200)


@router.post(
    "/subject-access-requests/{request_id:int}/completion",
    response_model=RequestPublic,
    status_code=200,
)
def complete(
    request_id: RecordId, body: CompletionCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """The answer was sent on `completed_on`."""
    if replayed := idem.replay(acting, body):
        return replayed
    completed = subject_access.complete(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        request_id=request_id,
        completion=body,
    )
    return idem.answer(completed, status_code=200)


SUBJECT_ACCESS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "application/zip": {}},
        "description": "The JSON document, or with `Accept: application/zip` a ZIP with a manifest",
    }
}


def _answer(document: dict[str, Any], request: Request, name: str) -> Response:
    if "application/zip" not in request.headers.get("accept", ""):
        return JSONResponse(document)
    return _streamed(export.as_zip(document), name)


def _how(request: Request) -> str:
    return "zip" if "application/zip" in request.headers.get("accept", "") else "json"


@router.get("/pupils/{pupil_id:int}/subject-access", responses=SUBJECT_ACCESS)
def pupil_subject_access(
    pupil_id: RecordId, request_id: RecordId, request: Request, acting: RecordedRead
) -> Response:
    """Everything held about one pupil, for an open subject access request about them; other
    pupils and third parties redacted. Producing it is on the record."""
    document = export.pupil_export(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        pupil_id=pupil_id,
        request_id=request_id,
        how=_how(request),
    )
    return _answer(document, request, f"contactlog-subject-access-{request_id}.zip")


@router.get("/staff/{staff_id:int}/subject-access", responses=SUBJECT_ACCESS)
def staff_subject_access(
    staff_id: RecordId, request_id: RecordId, request: Request, acting: RecordedRead
) -> Response:
    """Everything held about one member of staff, for an open subject access request about
    them; every pupil redacted. Producing it is on the record."""
    document = export.staff_export(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        staff_id=staff_id,
        request_id=request_id,
        how=_how(request),
    )
    return _answer(document, request, f"contactlog-subject-access-{request_id}.zip")
