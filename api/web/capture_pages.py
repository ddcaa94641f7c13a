"""Pages for what the platforms captured: upload an export of a school-owned account, and see a
contact's captured messages against its log, logging each gap in one tap. The same services as
POST /captures, GET /contacts/{id}/reconciliation and POST /captures/messages/{id}/log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.render import page_for, see_other
from contacts import service
from contacts.capture import gaps, keeping, putting_right, uploads
from contacts.capture.exports import MAX_UPLOAD_BYTES
from contacts.capture.models import Source
from contacts.capture.whatsapp import DateOrder
from contacts.models import Contact
from contacts.views import contact_view, device_tags
from core.directory.models import Role, School
from core.directory.names import pupil_names, staff_names
from core.errors import DomainError
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

# How many names of pupils one upload's form offers to say.
NAME_ROWS = 4
SOURCES = {
    Source.whatsapp_export: "WhatsApp chat export (from the school phone: Export chat)",
    Source.meta_export: "Instagram or Facebook: Download your information (JSON)",
    Source.google_chat_export: "Google Chat: the school's Takeout (JSON)",
    Source.teams_graph: "Microsoft Teams: chat messages from Microsoft Graph (JSON)",
}
ORDERS = {
    DateOrder.dmy: "Day first (25/11/2026), as UK phones",
    DateOrder.mdy: "Month first (11/25/26), as US phones",
    DateOrder.ymd: "Year first (2026-11-25)",
}


def _accounts(acting: PageActing) -> tuple[list[Contact], list[tuple[str, str]]]:
    """The contacts whose school accounts this person may upload for (their own; a DSL's, the
    school's), and those accounts once each."""
    actor = acting.actor
    dsl = actor.has(Role.dsl)
    found = service.list_contacts(
        session=acting.session,
        actor=actor,
        staff_id=None if dsl else actor.staff_id,
        limit=200,
    ).items
    accounts = sorted({(c.platform, c.school_account) for c in found})
    return list(found), accounts


def _upload_page(
    acting: PageActing,
    *,
    made: keeping.UploadPublic | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    contacts, accounts = _accounts(acting)
    pupils = pupil_names(acting.session, acting.actor, _pupils_on(acting, contacts))
    school = acting.session.get(School, acting.actor.school_id or 0)
    made_so_far = uploads.uploads_of(session=acting.session, actor=acting.actor, limit=20)
    return page_for(
        acting,
        "captures.html",
        title="Check the log against the platform",
        accounts=accounts,
        pupils=sorted(pupils.items(), key=lambda p: p[1]),
        sources=SOURCES,
        orders=ORDERS,
        rows=range(NAME_ROWS),
        zone_name=acting.policy.zone(school).key if school is not None else "Europe/London",
        uploads=made_so_far,
        uploaders=staff_names(
            acting.session, acting.actor, (u.uploaded_by_id for u in made_so_far)
        ),
        made=made,
        problem=problem,
        status=status,
    )


def _pupils_on(acting: PageActing, contacts: list[Contact]) -> list[int]:
    from sqlmodel import col, select

    from contacts.models import ContactPupil

    ids = [c.id for c in contacts if c.id is not None]
    if not ids:
        return []
    return list(
        acting.session.exec(
            select(ContactPupil.pupil_id).where(col(ContactPupil.contact_id).in_(ids))
        ).all()
    )


@router.get("/app/captures")
def captures_page(acting: PageDep) -> Response:
    return _upload_page(acting)


class UploadForm(BaseModel):
    """The upload page's fields beside its file (up to NAME_ROWS names of pupils)."""

    form_token: str = Field(default="", max_length=200)
    account: str = Field(default="", max_length=240)
    source: str = Field(default="", max_length=40)
    zone: str = Field(default="", max_length=60)
    date_order: str = Field(default="dmy", max_length=3)
    school_name: str = Field(default="", max_length=200)
    name_0: str = Field(default="", max_length=200)
    pupil_0: str = Field(default="", max_length=20)
    name_1: str = Field(default="", max_length=200)
    pupil_1: str = Field(default="", max_length=20)
    name_2: str = Field(default="", max_length=200)
    pupil_2: str = Field(default="", max_length=20)
    name_3: str = Field(default="", max_length=200)
    pupil_3: str = Field(default="", max_length=20)


@router.post("/app/captures")
def upload_export(
    request: Request,
    acting: PageDep,
    form: Annotated[UploadForm, Form()],
    export: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """An export uploaded from the page: as POST /captures, its result or its problem shown.
    A plain `def`: reading a large export takes a worker thread, never the event loop."""
    acting.check_form(form.form_token)
    raw = export.file.read(MAX_UPLOAD_BYTES + 1) if export is not None else b""
    if not raw:
        return _upload_page(acting, problem="Choose the export's file.", status=422)
    platform, _, account = form.account.partition("|")
    fields = form.model_dump()
    names = {}
    for n in range(NAME_ROWS):
        name, pupil = str(fields[f"name_{n}"]).strip(), str(fields[f"pupil_{n}"])
        if name and pupil.isdigit():
            names[name] = int(pupil)
    try:
        upload_in = uploads.UploadIn.model_validate(
            {
                "platform": platform,
                "school_account": account,
                "source": form.source,
                "zone": form.zone.strip() or None,
                "date_order": form.date_order,
                "school_name": form.school_name.strip() or None,
                "names": names,
            }
        )
        made = uploads.upload(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            upload_in=upload_in,
            file_name=(export.filename if export is not None else None) or "upload",
            data=raw,
            device=request.headers.get("user-agent", "unknown"),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        return _upload_page(acting, problem=f"{first['loc'][0]}: {first['msg']}", status=422)
    except DomainError as refused:
        acting.session.rollback()  # all or nothing
        return _upload_page(acting, problem=refused.detail, status=refused.status)
    return _upload_page(acting, made=made)


@router.get("/app/captures/unplaced")
def unplaced_page(acting: PageDep) -> Response:
    """For the DSL: what was captured on a school account no contact covers at all."""
    found = gaps.unplaced(
        session=acting.session, actor=acting.actor, policy=acting.policy, at=acting.at
    )
    return page_for(acting, "unplaced.html", title="Captured outside any contact", found=found)


@router.get("/app/contacts/{contact_id:int}/captured")
def captured_page(contact_id: RecordId, acting: PageDep, done: str | None = None) -> Response:
    return _captured_page(
        acting, contact_id, notice="Logged. It is on the record." if done == "logged" else None
    )


def _captured_page(
    acting: PageActing,
    contact_id: int,
    *,
    notice: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    found = gaps.reconciliation(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        contact_id=contact_id,
    )
    contact = contact_view(
        acting.session,
        service.get_contact(session=acting.session, actor=acting.actor, contact_id=contact_id),
        policy=acting.policy,
        at=acting.at,
    )
    shown = found.not_logged + found.breaches + found.unknown_participants
    return page_for(
        acting,
        "captured.html",
        title=f"Captured and logged · contact #{contact_id}",
        notice=notice,
        problem=problem,
        status=status,
        found=found,
        contact=contact,
        mine=contact.staff_id == acting.actor.staff_id,
        devices=device_tags(acting.session, contact.device_ids),
        names=pupil_names(acting.session, acting.actor, (p for c in shown for p in c.pupil_ids)),
    )


@router.post("/app/captures/messages/{captured_id:int}/log")
def log_captured(
    captured_id: RecordId,
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=200)] = "",
    summary: Annotated[str, Form(max_length=2000)] = "",
    device_tag: Annotated[str, Form(max_length=50)] = "",
    contact_id: Annotated[int, Form()] = 0,
) -> Response:
    """One tap: the captured message logged with the summary its holder wrote."""
    acting.check_form(form_token)
    try:
        log_in = putting_right.LogCaptured(summary=summary.strip(), device_tag=device_tag)
    except ValidationError:
        return _captured_page(
            acting, contact_id, problem="Say in a sentence what it was about.", status=422
        )
    entry = putting_right.log_captured(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        captured_id=captured_id,
        log_in=log_in,
    )
    return see_other(f"/app/contacts/{entry.contact_id}/captured?done=logged")
