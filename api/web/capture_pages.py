"""Pages for what the platforms captured: upload an export of a school-owned account, and see a
contact's captured messages against its log, logging each gap in one tap. The same services as
POST /captures, GET /contacts/{id}/reconciliation and POST /captures/messages/{id}/log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.render import page_for, see_other
from contacts import service
from contacts.capture import gaps, keeping, uploads
from contacts.capture.exports import MAX_UPLOAD_BYTES
from contacts.capture.models import Source
from contacts.capture.whatsapp import DateOrder
from contacts.models import Contact
from contacts.views import contact_view, device_tags
from core.directory.models import Role, School
from core.directory.names import pupil_names
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
        uploads=gaps.uploads_of(session=acting.session, actor=acting.actor, limit=20),
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


@router.post("/app/captures")
async def upload_export(
    request: Request,
    acting: PageDep,
    export: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """An export uploaded from the page: as POST /captures, its result or its problem shown."""
    form = await request.form()
    acting.check_form(str(form.get("form_token", "")))
    raw = await export.read(MAX_UPLOAD_BYTES + 1) if export is not None else b""
    if not raw:
        return _upload_page(acting, problem="Choose the export's file.", status=422)
    platform, _, account = str(form.get("account", "")).partition("|")
    names = {}
    for n in range(NAME_ROWS):
        name, pupil = str(form.get(f"name_{n}", "")).strip(), str(form.get(f"pupil_{n}", ""))
        if name and pupil.isdigit():
            names[name] = int(pupil)
    try:
        upload_in = uploads.UploadIn.model_validate(
            {
                "platform": platform,
                "school_account": account,
                "source": form.get("source", ""),
                "zone": str(form.get("zone", "")).strip() or None,
                "date_order": form.get("date_order", "dmy"),
                "school_name": str(form.get("school_name", "")).strip() or None,
                "names": names,
            }
        )
        made = uploads.upload(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            upload_in=upload_in,
            file_name=export.filename or "upload" if export is not None else "upload",
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
        log_in = gaps.LogCaptured(summary=summary.strip(), device_tag=device_tag)
    except ValidationError:
        return _captured_page(
            acting, contact_id, problem="Say in a sentence what it was about.", status=422
        )
    entry = gaps.log_captured(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        captured_id=captured_id,
        log_in=log_in,
    )
    return see_other(f"/app/contacts/{entry.contact_id}/captured?done=logged")
