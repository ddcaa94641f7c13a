"""The record kept and handed on, on pages, for DSLs: evidence packs downloaded from the record
they hold; legal holds placed from the record they keep and released when the case closes;
subject access requests recorded, extended, completed and their exports downloaded; and what
retention has redacted and would redact now. Each through the API's service, so each is
refused to anyone the API refuses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response, StreamingResponse

from api.routers.evidence import streamed
from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, submit
from api.web.record_pages import RECORD_PAGES
from api.web.render import PAGE_SIZE, page_for, paged
from contacts.data_protection.legal_holds import service as holds
from contacts.data_protection.legal_holds.models import (
    HoldCreate,
    HoldPublic,
    ReleaseCreate,
)
from contacts.data_protection.retention import service as retention
from contacts.data_protection.subject_access import export
from contacts.data_protection.subject_access import service as subject_access
from contacts.data_protection.subject_access.models import (
    CompletionCreate,
    ExtensionCreate,
    RequestCreate,
    RequestPublic,
    Whose,
)
from contacts.oversight import evidence
from core.directory.models import School
from core.directory.names import pupil_names, school_names, staff_names
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _subjects(acting: PageActing, rows: list[HoldPublic] | list[RequestPublic]) -> dict[str, str]:
    """Each row's subject by name ("pupil:3" → "Ava Thompson"), within the reader's schools; a
    contact or an incident is named by what it is, and linked."""
    by_kind: dict[str, list[int]] = {}
    for row in rows:
        by_kind.setdefault(str(row.subject_type), []).append(row.subject_id)
    named = {
        **{
            f"pupil:{i}": n
            for i, n in pupil_names(acting.session, acting.actor, by_kind.get("pupil", [])).items()
        },
        **{
            f"staff:{i}": n
            for i, n in staff_names(acting.session, acting.actor, by_kind.get("staff", [])).items()
        },
    }
    for i in by_kind.get("contact", []):
        named[f"contact:{i}"] = "a contact"
    for i in by_kind.get("incident", []):
        named[f"incident:{i}"] = "an incident"
    return named


# ---------------------------------------------------------------- evidence packs


@router.get("/app/pupils/{pupil_id:int}/evidence-pack")
def pupil_pack(pupil_id: RecordId, acting: PageDep) -> StreamingResponse:
    """As GET /pupils/{id}/evidence-pack: the pupil's whole record; making it is on the record."""
    scope = evidence.pupil_scope(
        session=acting.session, actor=acting.actor, at=acting.at, pupil_id=pupil_id
    )
    pack = evidence.build(acting.session, scope, made=acting.at, settings=acting.settings)
    return streamed(pack, f"contactlog-pupil-{pupil_id}.zip")


@router.get("/app/contacts/{contact_id:int}/evidence-pack")
def contact_pack(contact_id: RecordId, acting: PageDep) -> StreamingResponse:
    """As GET /contacts/{id}/evidence-pack."""
    scope = evidence.contact_scope(
        session=acting.session, actor=acting.actor, at=acting.at, contact_id=contact_id
    )
    pack = evidence.build(acting.session, scope, made=acting.at, settings=acting.settings)
    return streamed(pack, f"contactlog-contact-{contact_id}.zip")


# ---------------------------------------------------------------- legal holds


def _holds(
    acting: PageActing,
    *,
    cursor: str | None = None,
    notice: str | None = None,
    problems: Problems | None = None,
    status: int = 200,
) -> Response:
    found = holds.list_holds(
        session=acting.session,
        actor=acting.actor,
        active_only=False,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    return page_for(
        acting,
        "legal_holds.html",
        title="Legal holds",
        notice=notice,
        problems=problems or Problems(),
        status=status,
        pager=paged(acting, found),
        subjects=_subjects(acting, found.items),
        people=staff_names(
            acting.session,
            acting.actor,
            [h.placed_by_id for h in found.items if h.placed_by_id]
            + [h.released_by_id for h in found.items if h.released_by_id],
        ),
        record_page=RECORD_PAGES,
    )


@router.get("/app/legal-holds")
def legal_holds(acting: PageDep, cursor: str | None = None, done: str | None = None) -> Response:
    notice = {
        "placed": "Hold placed: retention keeps everything it covers until it is released.",
        "released": "Released. The hold stays on the record.",
    }.get(done or "")
    return _holds(acting, cursor=cursor, notice=notice)


class HoldForm(PageForm):
    subject_type: str = ""
    subject_id: str = ""
    case_reference: str = ""
    reason: str = ""


@router.post("/app/legal-holds")
def place(acting: PageDep, form: Annotated[HoldForm, Form()]) -> Response:
    """As POST /legal-holds, from the record it keeps (a pupil's or a colleague's chronology,
    a contact, an incident): the form names the record, the DSL gives the case."""

    def read() -> HoldCreate:
        return HoldCreate.model_validate(form.values())

    def act(hold_in: HoldCreate) -> str:
        holds.place_hold(session=acting.session, actor=acting.actor, at=acting.at, hold_in=hold_in)
        return "/app/legal-holds?done=placed"

    return submit(acting, form, read, act, again=lambda p: _holds(acting, problems=p, status=422))


class ReleaseForm(PageForm):
    reason: str = ""


@router.post("/app/legal-holds/{hold_id:int}/release")
def release(hold_id: RecordId, acting: PageDep, form: Annotated[ReleaseForm, Form()]) -> Response:
    def read() -> ReleaseCreate:
        return ReleaseCreate.model_validate(form.values())

    def act(release_in: ReleaseCreate) -> str:
        holds.release_hold(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            hold_id=hold_id,
            release=release_in,
        )
        return "/app/legal-holds?done=released"

    return submit(acting, form, read, act, again=lambda p: _holds(acting, problems=p, status=422))


# ---------------------------------------------------------------- subject access


def _requests(
    acting: PageActing,
    *,
    cursor: str | None = None,
    notice: str | None = None,
    problems: Problems | None = None,
    status: int = 200,
) -> Response:
    found = subject_access.list_requests(
        session=acting.session,
        actor=acting.actor,
        policy=acting.policy,
        at=acting.at,
        open_only=False,
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    school = acting.session.get(School, acting.actor.school_id or 0)
    return page_for(
        acting,
        "subject_access.html",
        title="Subject access requests",
        notice=notice,
        problems=problems or Problems(),
        status=status,
        pager=paged(acting, found),
        subjects=_subjects(acting, found.items),
        today=acting.policy.today(school, acting.at) if school else acting.at.date(),
    )


@router.get("/app/subject-access")
def subject_access_requests(
    acting: PageDep, cursor: str | None = None, done: str | None = None
) -> Response:
    notice = {
        "recorded": "Recorded: the month to answer runs from the day it was received.",
        "extended": "Extended, with the reason on the record.",
        "completed": "Completed.",
    }.get(done or "")
    return _requests(acting, cursor=cursor, notice=notice)


class RequestForm(PageForm):
    subject_type: str = ""
    subject_id: str = ""
    requested_by: str = ""
    received_on: str = ""


@router.post("/app/subject-access")
def record(acting: PageDep, form: Annotated[RequestForm, Form()]) -> Response:
    """As POST /subject-access-requests, from the pupil's or colleague's page it is about."""

    def read() -> RequestCreate:
        return RequestCreate.model_validate(form.values())

    def act(request_in: RequestCreate) -> str:
        subject_access.record_request(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            request_in=request_in,
        )
        return "/app/subject-access?done=recorded"

    return submit(
        acting, form, read, act, again=lambda p: _requests(acting, problems=p, status=422)
    )


class ExtensionForm(PageForm):
    extra_months: str = ""
    reason: str = ""


@router.post("/app/subject-access/{request_id:int}/extension")
def extend(
    request_id: RecordId, acting: PageDep, form: Annotated[ExtensionForm, Form()]
) -> Response:
    def read() -> ExtensionCreate:
        return ExtensionCreate.model_validate(form.values())

    def act(extension: ExtensionCreate) -> str:
        subject_access.extend(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            request_id=request_id,
            extension=extension,
        )
        return "/app/subject-access?done=extended"

    return submit(
        acting, form, read, act, again=lambda p: _requests(acting, problems=p, status=422)
    )


class CompletionForm(PageForm):
    completed_on: str = ""


@router.post("/app/subject-access/{request_id:int}/completion")
def complete(
    request_id: RecordId, acting: PageDep, form: Annotated[CompletionForm, Form()]
) -> Response:
    def read() -> CompletionCreate:
        return CompletionCreate.model_validate(form.values())

    def act(completion: CompletionCreate) -> str:
        subject_access.complete(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            request_id=request_id,
            completion=completion,
        )
        return "/app/subject-access?done=completed"

    return submit(
        acting, form, read, act, again=lambda p: _requests(acting, problems=p, status=422)
    )


@router.get("/app/subject-access/{request_id:int}/export")
def download_export(
    request_id: RecordId, acting: PageDep, whose: Whose, subject_id: RecordId
) -> StreamingResponse:
    """The ZIP to send the requester, as GET /pupils|staff/{id}/subject-access makes it (other
    pupils and third parties redacted); producing it is on the record."""
    if whose == Whose.pupil:
        document = export.pupil_export(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            pupil_id=subject_id,
            request_id=request_id,
            how="zip",
        )
    else:
        document = export.staff_export(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            staff_id=subject_id,
            request_id=request_id,
            how="zip",
        )
    return streamed(export.as_zip(document), f"contactlog-subject-access-{request_id}.zip")


# ---------------------------------------------------------------- retention


@router.get("/app/retention")
def retention_page(acting: PageDep, cursor: str | None = None) -> Response:
    """What a run would redact now, and what each run did (and what holds kept)."""
    plan = retention.plan_for_reader(
        session=acting.session, actor=acting.actor, policy=acting.policy, at=acting.at
    )
    runs = retention.list_reports(
        session=acting.session, actor=acting.actor, cursor=cursor, limit=PAGE_SIZE
    )
    return page_for(
        acting,
        "retention.html",
        title="Retention",
        plan=plan,
        pager=paged(acting, runs),
        policy=acting.policy,
        schools=school_names(acting.session, acting.actor),
    )
