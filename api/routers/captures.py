"""What the platforms captured on school-owned accounts: exports uploaded, and each contact's
log checked against them (captured, logged, the gaps), with a gap logged in one tap."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.deps import ActingDep
from api.routing import UnitOfWorkRoute
from contacts.capture import gaps, keeping, putting_right, uploads
from contacts.capture.exports import MAX_UPLOAD_BYTES
from contacts.models import MessagePublic
from core.errors import InvalidInput
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, tags=["captures"])


@router.post(
    "/captures",
    response_model=keeping.UploadPublic,
    status_code=201,
    responses={200: {"description": "This very file was uploaded before: nothing new stored"}},
)
def upload_export(
    request: Request,
    acting: ActingDep,
    file: Annotated[UploadFile, File(description="The export as the platform made it")],
    platform: Annotated[str, Form()],
    school_account: Annotated[str, Form()],
    source: Annotated[str, Form()],
    zone: Annotated[str | None, Form()] = None,
    date_order: Annotated[str, Form()] = "dmy",
    school_name: Annotated[str | None, Form()] = None,
    conversation: Annotated[str | None, Form()] = None,
    names: Annotated[str, Form(description='JSON: {"name in the export": pupil id}')] = "{}",
) -> object:
    """Upload an export of a school-owned account (a WhatsApp chat from the school phone, Meta's
    download of the school's Instagram or Facebook account): every message is stored once,
    placed under its contact and matched to the log. All or nothing: a line that cannot be read
    is a 422 naming the file and line. The same file again stores nothing (200)."""
    try:
        said = json.loads(names)
        upload_in = uploads.UploadIn.model_validate(
            {
                "platform": platform,
                "school_account": school_account,
                "source": source,
                "zone": zone or None,
                "date_order": date_order,
                "school_name": school_name or None,
                "conversation": conversation or None,
                "names": said,
            }
        )
    except json.JSONDecodeError:
        raise InvalidInput('names: not JSON (give {} or {"name": pupil id}).') from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}") from None
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    made = uploads.upload(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        upload_in=upload_in,
        file_name=file.filename or "upload",
        data=data,
        device=request.headers.get("user-agent", "unknown"),
    )
    return JSONResponse(made.model_dump(mode="json"), status_code=200 if made.repeated else 201)


@router.get("/captures", response_model=list[keeping.UploadPublic])
def list_uploads(acting: ActingDep) -> object:
    """The school's uploads (a DSL), or my own."""
    return [
        keeping.UploadPublic.model_validate(u.model_dump())
        for u in uploads.uploads_of(session=acting.session, actor=acting.actor)
    ]


@router.get("/captures/unplaced", response_model=list[gaps.CapturedPublic])
def unplaced(acting: ActingDep) -> object:
    """What the platform captured on a school account no contact covers at all (the DSL's),
    the latest first."""
    return gaps.unplaced(
        session=acting.session, actor=acting.actor, policy=acting.policy, at=acting.at
    )


@router.get("/staff/{staff_id:int}/reconciliation", response_model=list[gaps.ContactGaps])
def staff_gaps(staff_id: RecordId, acting: ActingDep) -> object:
    """Per contact a colleague holds: captured, logged and the gaps (their DSL, their line
    manager)."""
    return gaps.staff_gaps(
        session=acting.session, actor=acting.actor, at=acting.at, staff_id=staff_id
    )


@router.get("/contacts/{contact_id:int}/reconciliation", response_model=gaps.Reconciliation)
def reconciliation(contact_id: RecordId, acting: ActingDep) -> object:
    """The contact's captured messages against its log: not logged (to log, by when), breaches,
    unknown participants, and entries the platform did not show."""
    return gaps.reconciliation(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contact_id=contact_id,
    )


@router.post(
    "/captures/messages/{captured_id:int}/log", response_model=MessagePublic, status_code=201
)
def log_captured(
    captured_id: RecordId, body: putting_right.LogCaptured, acting: ActingDep
) -> object:
    """Log a captured message missing from my log: its direction, time, pupils and words come
    from the capture; I write the summary."""
    return putting_right.log_captured(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        captured_id=captured_id,
        log_in=body,
    )
