"""Concerns and allegations about adults: raised by any member of staff (who is told only that
it was received), handled in a case file by the case manager and the DSL."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response, StreamingResponse

from api.deps import Acting, ActingDep, PagingDep, RecordedRead
from api.idempotency import IdempotentDep
from api.routers.evidence import ZIP, streamed
from api.routing import UnitOfWorkRoute
from contacts.concerns import attachments, case_file, handling, patterns, raising, readers
from contacts.concerns.attachments import MAX_ATTACHMENT_BYTES
from contacts.concerns.models import ConcernAttachment
from contacts.concerns.schemas import (
    ActionCreate,
    ConcernCreate,
    ConcernPublic,
    ConcernSummary,
    KindChange,
    NoteCreate,
    OutcomeCreate,
    Receipt,
    ReferralCreate,
)
from contacts.oversight import evidence
from contacts.oversight.concern_pack import concern_scope
from core.inputs import RecordId
from core.pagination import Page

router = APIRouter(route_class=UnitOfWorkRoute, tags=["concerns"])


@router.post("/concerns", response_model=Receipt, status_code=201)
def raise_concern(body: ConcernCreate, acting: ActingDep, idem: IdempotentDep) -> object:
    """Raise a concern about a colleague, a volunteer or contractor, or yourself: a low-level
    concern or an allegation. You are told that it was received, and nothing more."""
    if replayed := idem.replay(acting, body):
        return replayed
    receipt = raising.raise_concern(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        concern_in=body,
    )
    return idem.answer(receipt)


@router.get("/concerns/raised", response_model=list[Receipt])
def my_receipts(acting: ActingDep) -> object:
    """The concerns you raised: that each was received."""
    return raising.raised_by_me(session=acting.session, actor=acting.actor)


@router.get("/concerns/review", response_model=list[patterns.Repeated])
def periodic_review(acting: RecordedRead) -> object:
    """Staff with more than one low-level concern among those you handle (KCSIE's review)."""
    return patterns.review(session=acting.session, actor=acting.actor, at=acting.at)


@router.get("/concerns", response_model=Page[ConcernSummary])
def list_concerns(
    acting: RecordedRead,
    paging: PagingDep,
    open_only: bool = False,
    subject_staff_id: RecordId | None = None,
) -> object:
    """The concerns you handle, newest first (empty for anyone who handles none)."""
    return case_file.list_concerns(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        open_only=open_only,
        subject_staff_id=subject_staff_id,
        cursor=paging.cursor,
        limit=paging.limit,
    )


@router.get("/concerns/{concern_id:int}", response_model=ConcernPublic)
def read_concern(concern_id: RecordId, acting: RecordedRead) -> object:
    return case_file.read_concern(
        session=acting.session, actor=acting.actor, at=acting.at, concern_id=concern_id
    )


def _view(acting: ActingDep, concern_id: int) -> ConcernPublic:
    """The case file as it stands after a change (the change is the event; no read is added)."""
    found = readers.get_readable(acting.session, acting.actor, concern_id)
    return case_file.view(acting.session, found, acting.at)


@router.post("/concerns/{concern_id:int}/notes", response_model=ConcernPublic, status_code=201)
def add_note(
    concern_id: RecordId, body: NoteCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """A note, or a decision with its reason (a decision not to refer is one)."""
    if replayed := idem.replay(acting, body):
        return replayed
    handling.add_note(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        concern_id=concern_id,
        note_in=body,
    )
    return idem.answer(_view(acting, concern_id))


@router.post("/concerns/{concern_id:int}/referral", response_model=ConcernPublic, status_code=201)
def record_referral(
    concern_id: RecordId, body: ReferralCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """The referral to the LADO (date, officer, reference, advice), or on to the police, the
    DBS or the Teaching Regulation Agency."""
    if replayed := idem.replay(acting, body):
        return replayed
    handling.record_referral(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        concern_id=concern_id,
        referral_in=body,
    )
    return idem.answer(_view(acting, concern_id))


@router.post("/concerns/{concern_id:int}/actions", response_model=ConcernPublic, status_code=201)
def set_action(
    concern_id: RecordId, body: ActionCreate, acting: ActingDep, idem: IdempotentDep
) -> object:
    """An action with its owner (one of the case's readers) and date; chased by email."""
    if replayed := idem.replay(acting, body):
        return replayed
    handling.set_action(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        concern_id=concern_id,
        action_in=body,
    )
    return idem.answer(_view(acting, concern_id))


@router.post(
    "/concerns/{concern_id:int}/actions/{action_id:int}/done", response_model=ConcernPublic
)
def action_done(concern_id: RecordId, action_id: RecordId, acting: ActingDep) -> object:
    handling.action_done(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        concern_id=concern_id,
        action_id=action_id,
    )
    return _view(acting, concern_id)


@router.post("/concerns/{concern_id:int}/kind", response_model=ConcernPublic)
def change_kind(concern_id: RecordId, body: KindChange, acting: ActingDep) -> object:
    """Treat a low-level concern as an allegation (it meets the harm threshold after all), or an
    allegation as a low-level concern (the LADO advised it does not), with the reason."""
    handling.change_kind(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        concern_id=concern_id,
        change=body,
    )
    return _view(acting, concern_id)


@router.post("/concerns/{concern_id:int}/outcome", response_model=ConcernPublic)
def record_outcome(concern_id: RecordId, body: OutcomeCreate, acting: ActingDep) -> object:
    """The outcome closes the case, once: a second case manager closing it is told it is."""
    handling.close(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        concern_id=concern_id,
        outcome_in=body,
    )
    return _view(acting, concern_id)


@router.post(
    "/concerns/{concern_id:int}/attachments", response_model=ConcernPublic, status_code=201
)
def attach(
    concern_id: RecordId,
    acting: ActingDep,
    file: Annotated[UploadFile, File(description="A screenshot, letter or exported chat")],
    description: Annotated[str | None, Form(max_length=500)] = None,
) -> object:
    """Attach a file to the case file: PNG, JPEG, WebP, HEIC, PDF, Word, plain text or ZIP,
    up to 10 MB, checked to be what its name says; its SHA-256 is sealed."""
    attachments.attach(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        concern_id=concern_id,
        file_name=file.filename or "attachment",
        data=file.file.read(MAX_ATTACHMENT_BYTES + 1),
        description=description or None,
    )
    return _view(acting, concern_id)


FILE: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The file, to save"}
}


@router.get(
    "/concerns/{concern_id:int}/attachments/{attachment_id:int}",
    response_class=Response,
    responses=FILE,
)
def download(concern_id: RecordId, attachment_id: RecordId, acting: RecordedRead) -> Response:
    """The file, to save and never to open in the browser: `Content-Disposition: attachment`,
    no sniffing, and a sandbox should anything try to render it."""
    attachment, data = attachments.fetch(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        concern_id=concern_id,
        attachment_id=attachment_id,
    )
    return saved(attachment, data)


def saved(attachment: ConcernAttachment, data: bytes) -> Response:
    """A case file's attachment as a download, never shown inline (the API and the page alike)."""
    ascii_name = attachment.file_name.encode("ascii", "replace").decode().replace('"', "'")
    return Response(
        data,
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": (
                f'attachment; filename="{ascii_name}"; '
                f"filename*=UTF-8''{quote(attachment.file_name, safe='')}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-SHA256": attachment.sha256,
        },
    )


@router.get(
    "/concerns/{concern_id:int}/evidence-pack", response_class=StreamingResponse, responses=ZIP
)
def concern_pack(concern_id: RecordId, acting: RecordedRead) -> StreamingResponse:
    """The case file with the people in it named, its attachments, the records it refers to
    and their events proven against the trust's signed log, with a signed manifest: for the
    case's readers, and making it is on the record."""
    return pack_of(acting, concern_id)


def pack_of(acting: Acting, concern_id: int) -> StreamingResponse:
    """A concern's pack, streamed (the API and the case page alike)."""
    scope = concern_scope(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        concern_id=concern_id,
    )
    pack = evidence.build(acting.session, scope, made=acting.at, settings=acting.settings)
    return streamed(pack, f"contactlog-concern-{concern_id}.zip")


@router.get("/staff/{staff_id:int}/pattern", response_model=patterns.Pattern)
def staff_pattern(staff_id: RecordId, acting: RecordedRead) -> object:
    """A member of staff's concerns, flagged entries, incidents, unlogged captured messages and
    ended or refused contacts in time order: for those who would handle a concern about them."""
    return patterns.pattern(
        session=acting.session, actor=acting.actor, at=acting.at, staff_id=staff_id
    )
