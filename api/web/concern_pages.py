"""Pages for concerns about adults: raising one (any member of staff, told only "received"),
the case managers' list, a case file with its forms (notes and decisions, the LADO referral,
actions, attachments, the outcome), a member of staff's pattern and the periodic review. The
same services as /concerns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from api.routers.concerns import pack_of, saved
from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, local_time, submit
from api.web.render import page_for, paged, see_other
from contacts.concerns import attachments, case_file, handling, patterns, raising
from contacts.concerns.attachments import MAX_ATTACHMENT_BYTES
from contacts.concerns.models import Agency, ConcernKind, NoteKind, OnBehalfOf, Outcome, SubjectKind
from contacts.concerns.readers import get_readable, readers_of
from contacts.concerns.schemas import (
    ActionCreate,
    ConcernCreate,
    KindChange,
    NoteCreate,
    OutcomeCreate,
    ReferralCreate,
)
from contacts.models import Platform
from core.directory.models import School
from core.errors import DomainError
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
T = TypeVar("T")

KIND_NAMES = {
    ConcernKind.low_level: "A low-level concern: conduct that does not fit the code of conduct",
    ConcernKind.allegation: "An allegation: they may have harmed a child, or could pose a risk",
}
AGENCY_NAMES = {
    Agency.lado: "The LADO (local authority designated officer)",
    Agency.police: "The police",
    Agency.dbs: "The Disclosure and Barring Service",
    Agency.tra: "The Teaching Regulation Agency",
    Agency.other: "Someone else",
}
OUTCOME_NAMES = {o.value: o.value.replace("_", " ") for o in Outcome}


def _zone(acting: PageActing) -> ZoneInfo:
    school = acting.session.get(School, acting.actor.school_id or 0)
    return acting.policy.zone(school) if school is not None else acting.zone


def _raise_form(
    acting: PageActing, problems: list[str] | None = None, status: int = 200
) -> Response:
    return page_for(
        acting,
        "concern_new.html",
        title="Raise a concern about an adult",
        colleagues=raising.colleagues(session=acting.session, actor=acting.actor),
        kinds=KIND_NAMES,
        subject_kinds=list(SubjectKind),
        sources=list(OnBehalfOf),
        platforms=list(Platform),
        now=acting.at.astimezone(_zone(acting)).strftime("%Y-%m-%dT%H:%M"),
        problems=problems if problems is not None else [],
        status=status,
    )


@router.get("/app/concerns/new")
def raise_form(acting: PageDep) -> Response:
    return _raise_form(acting)


class RaiseForm(PageForm):
    kind: str = ""
    subject_kind: str = "staff"
    subject_staff_id: str = ""
    subject_name: str = ""
    on_behalf_of: str = ""
    source_name: str = ""
    happened_at: str = ""
    what_happened: str = ""
    platform: str = ""


@router.post("/app/concerns/new")
def raise_concern(acting: PageDep, form: Annotated[RaiseForm, Form()]) -> Response:
    def read() -> ConcernCreate:
        typed = form.values()
        staff = typed["subject_kind"] in (None, "staff")
        return ConcernCreate.model_validate(
            {
                **typed,
                "subject_kind": typed["subject_kind"] or "staff",
                "subject_staff_id": typed["subject_staff_id"] if staff else None,
                "subject_name": None if staff else typed["subject_name"],
                "source_name": typed["source_name"] if typed["on_behalf_of"] else None,
                "happened_at": local_time("happened_at", form.happened_at, _zone(acting)),
                "what_happened": form.what_happened,
            }
        )

    def act(concern_in: ConcernCreate) -> str:
        raising.raise_concern(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            concern_in=concern_in,
        )
        return "/app/concerns/received"

    return submit(acting, form, read, act, again=lambda p: _raise_form(acting, p, status=422))


@router.get("/app/concerns/received")
def received(acting: PageDep) -> Response:
    """All the raiser is told: it was received, and by whom it will be handled in general."""
    return page_for(acting, "concern_received.html", title="Concern received")


@router.get("/app/concerns")
def concerns_page(acting: PageDep, cursor: str | None = None, open_only: bool = False) -> Response:
    page = case_file.list_concerns(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        open_only=open_only,
        subject_staff_id=None,
        cursor=cursor,
        limit=50,
    )
    return page_for(
        acting,
        "concerns.html",
        title="Concerns about adults",
        pager=paged(acting, page),
        open_only=open_only,
    )


@router.get("/app/concerns/review")
def review_page(acting: PageDep) -> Response:
    found = patterns.review(session=acting.session, actor=acting.actor, at=acting.at)
    return page_for(
        acting, "concern_review.html", title="Review of low-level concerns", found=found
    )


def _case_page(
    acting: PageActing,
    concern_id: int,
    problems: Problems | list[str] | None = None,
    status: int = 200,
) -> Response:
    file = case_file.read_concern(
        session=acting.session, actor=acting.actor, at=acting.at, concern_id=concern_id
    )
    found = get_readable(acting.session, acting.actor, concern_id)
    school = acting.session.get(School, found.school_id)
    assert school is not None
    handlers = [(s.id, s.name) for s in readers_of(acting.session, found)]
    return page_for(
        acting,
        "concern.html",
        title=f"Case file: concern about {file.subject}",
        file=file,
        handlers=handlers,
        agencies=AGENCY_NAMES,
        outcomes=[
            (o.value, OUTCOME_NAMES[o.value])
            for o in Outcome
            if (o.value in {"addressed", "no_further_action"})
            != (file.kind == ConcernKind.allegation)
        ],
        today=acting.policy.today(school, acting.at).isoformat(),
        problems=problems if problems is not None else [],
        status=status,
    )


@router.get("/app/concerns/{concern_id:int}")
def case_page(concern_id: RecordId, acting: PageDep) -> Response:
    return _case_page(acting, concern_id)


class NoteForm(PageForm):
    kind: str = "note"
    text: str = ""
    reason: str = ""


@router.post("/app/concerns/{concern_id:int}/notes")
def add_note(concern_id: RecordId, acting: PageDep, form: Annotated[NoteForm, Form()]) -> Response:
    def act(note_in: NoteCreate) -> str:
        handling.add_note(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            concern_id=concern_id,
            note_in=note_in,
        )
        return f"/app/concerns/{concern_id}#notes"

    def read() -> NoteCreate:
        return NoteCreate.model_validate({**form.values(), "kind": form.kind or NoteKind.note})

    return _case_form(acting, concern_id, form, read, act)


class ReferralForm(PageForm):
    agency: str = "lado"
    referred_on: str = ""
    officer: str = ""
    reference: str = ""
    advice: str = ""


@router.post("/app/concerns/{concern_id:int}/referral")
def record_referral(
    concern_id: RecordId, acting: PageDep, form: Annotated[ReferralForm, Form()]
) -> Response:
    def act(referral_in: ReferralCreate) -> str:
        handling.record_referral(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            concern_id=concern_id,
            referral_in=referral_in,
        )
        return f"/app/concerns/{concern_id}#referrals"

    return _case_form(
        acting, concern_id, form, lambda: ReferralCreate.model_validate(form.values()), act
    )


class ActionForm(PageForm):
    what: str = ""
    owner_id: str = ""
    due_on: str = ""


@router.post("/app/concerns/{concern_id:int}/actions")
def set_action(
    concern_id: RecordId, acting: PageDep, form: Annotated[ActionForm, Form()]
) -> Response:
    def act(action_in: ActionCreate) -> str:
        handling.set_action(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            concern_id=concern_id,
            action_in=action_in,
        )
        return f"/app/concerns/{concern_id}#actions"

    return _case_form(
        acting, concern_id, form, lambda: ActionCreate.model_validate(form.values()), act
    )


@router.post("/app/concerns/{concern_id:int}/actions/{action_id:int}/done")
def action_done(
    concern_id: RecordId, action_id: RecordId, acting: PageDep, form: Annotated[PageForm, Form()]
) -> Response:
    acting.check_form(form.form_token)
    handling.action_done(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        concern_id=concern_id,
        action_id=action_id,
    )
    return see_other(f"/app/concerns/{concern_id}#actions")


class OutcomeForm(PageForm):
    outcome: str = ""
    outcome_on: str = ""
    reason: str = ""


@router.post("/app/concerns/{concern_id:int}/outcome")
def record_outcome(
    concern_id: RecordId, acting: PageDep, form: Annotated[OutcomeForm, Form()]
) -> Response:
    def act(outcome_in: OutcomeCreate) -> str:
        handling.close(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            concern_id=concern_id,
            outcome_in=outcome_in,
        )
        return f"/app/concerns/{concern_id}"

    return _case_form(
        acting, concern_id, form, lambda: OutcomeCreate.model_validate(form.values()), act
    )


class KindForm(PageForm):
    kind: str = ""
    reason: str = ""


@router.post("/app/concerns/{concern_id:int}/kind")
def change_kind(
    concern_id: RecordId, acting: PageDep, form: Annotated[KindForm, Form()]
) -> Response:
    def act(change: KindChange) -> str:
        handling.change_kind(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            concern_id=concern_id,
            change=change,
        )
        return f"/app/concerns/{concern_id}"

    return _case_form(
        acting, concern_id, form, lambda: KindChange.model_validate(form.values()), act
    )


class AttachForm(PageForm):
    description: str = ""


@router.post("/app/concerns/{concern_id:int}/attachments")
def attach(
    concern_id: RecordId,
    acting: PageDep,
    form: Annotated[AttachForm, Form()],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    def act(data: bytes) -> str:
        attachments.attach(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            concern_id=concern_id,
            file_name=(file.filename if file is not None else None) or "attachment",
            data=data,
            description=form.description.strip() or None,
        )
        return f"/app/concerns/{concern_id}#attachments"

    def read() -> bytes:
        return file.file.read(MAX_ATTACHMENT_BYTES + 1) if file is not None else b""

    return _case_form(acting, concern_id, form, read, act)


def _case_form(
    acting: PageActing,
    concern_id: int,
    form: PageForm,
    read: Callable[[], T],
    act: Callable[[T], str],
) -> Response:
    """Every form of the case file: as `submit`, and a rule the service applies (a date ahead,
    an owner who does not handle the case, a case closed by someone else a moment ago) shown on
    the case page, not as an error page."""
    try:
        return submit(
            acting, form, read, act, again=lambda p: _case_page(acting, concern_id, p, status=422)
        )
    except DomainError as refused:
        if refused.status == 404:
            raise
        acting.session.rollback()
        return _case_page(acting, concern_id, [refused.detail], status=refused.status)


@router.get("/app/concerns/{concern_id:int}/attachments/{attachment_id:int}")
def download(concern_id: RecordId, attachment_id: RecordId, acting: PageDep) -> Response:
    attachment, data = attachments.fetch(
        session=acting.session,
        actor=acting.actor,
        at=acting.at,
        concern_id=concern_id,
        attachment_id=attachment_id,
    )
    return saved(attachment, data)


@router.get("/app/concerns/{concern_id:int}/evidence-pack")
def concern_pack(concern_id: RecordId, acting: PageDep) -> Response:
    """As GET /concerns/{id}/evidence-pack."""
    return pack_of(acting, concern_id)


@router.get("/app/staff/{staff_id:int}/pattern")
def pattern_page(staff_id: RecordId, acting: PageDep) -> Response:
    found = patterns.pattern(
        session=acting.session, actor=acting.actor, at=acting.at, staff_id=staff_id
    )
    return page_for(acting, "pattern.html", title=f"Pattern: {found.name}", found=found)
