"""Pages for the school's administrators (and DSLs): pupils, and for one pupil their guardians,
consents and parent notices, with a consent recorded from the signed form or email in hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, submit
from api.web.render import PAGE_SIZE, all_of, page_for, paged
from consent import requests
from consent import service as consent
from consent.models import ConsentCreate, ConsentMethod, ConsentRequestPublic
from consent.rules import age_on
from contacts import service as contacts
from contacts.consenting import CONTACTS
from contacts.models import ContactState
from contacts.views import contact_views
from core.directory import pupils
from core.directory.models import Role, School
from core.directory.names import staff_names
from core.directory.pupil_import import decode, import_pupils
from core.errors import InvalidInput
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
# Contacts a consent or a parent notice may still be recorded for (not refused, not over).
OPEN = (ContactState.requested, ContactState.approved)
CHOOSE_A_FILE = "Choose the CSV file your MIS exported."


@router.get("/app/pupils")
def pupil_list(acting: PageDep, cursor: str | None = None) -> Response:
    found = pupils.list_pupils(
        session=acting.session, actor=acting.actor, cursor=cursor, limit=PAGE_SIZE
    )
    may_import = acting.actor.has(Role.admin) or acting.actor.has(Role.trust_admin)
    return page_for(
        acting, "pupils.html", title="Pupils", pager=paged(acting, found), may_import=may_import
    )


def pupil_page_with(
    acting: PageActing,
    pupil_id: int,
    *,
    notice: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    pupil = pupils.get_pupil(session=acting.session, actor=acting.actor, pupil_id=pupil_id)
    school = acting.session.get(School, pupil.school_id)
    assert school is not None
    guardians = pupils.list_guardians(session=acting.session, actor=acting.actor, pupil_id=pupil_id)
    theirs = contact_views(
        acting.session,
        all_of(
            contacts.list_contacts, session=acting.session, actor=acting.actor, pupil_id=pupil_id
        ),
        policy=acting.policy,
        at=acting.at,
    )
    # Whether this pupil needs consent on each contact today, or only that parents are told.
    standing = {c.id: next(p for p in c.pupils if p.pupil_id == pupil_id) for c in theirs}
    open_ones = [c for c in theirs if c.state in OPEN]
    asked_online: dict[int, list[ConsentRequestPublic]] = {
        c.id: [
            r
            for r in requests.list_requests(
                session=acting.session,
                actor=acting.actor,
                at=acting.at,
                contacts=CONTACTS,
                contact_id=c.id,
            )
            if r.pupil_id == pupil_id
        ]
        for c in open_ones
        if c.state == ContactState.approved and standing[c.id].needs_consent
    }
    # Consent still wanted: needed on the contact, and none holds today (none given, or it
    # expired or was withdrawn). Parents are asked online only then; what was asked is shown.
    wanted = {c.id for c in open_ones if standing[c.id].needs_consent}
    wanted -= {c.id for c in open_ones if standing[c.id].consent_valid}
    asked_online = {cid: asked for cid, asked in asked_online.items() if asked or cid in wanted}
    return page_for(
        acting,
        "pupil.html",
        title=f"{pupil.given_name} {pupil.family_name}",
        notice=notice,
        problems=problems or [],
        status=status,
        pupil=pupil,
        age=age_on(pupil.date_of_birth, acting.policy.today(school, acting.at)),
        guardians=guardians,
        guardian_named={g.id: g.name for g in guardians},
        with_responsibility=[g for g in guardians if g.has_parental_responsibility],
        consents=consent.list_consents(
            session=acting.session, actor=acting.actor, pupil_id=pupil_id
        ),
        notices=consent.list_parent_notices(
            session=acting.session, actor=acting.actor, pupil_id=pupil_id
        ),
        contacts=theirs,
        contact_named={c.id: c for c in theirs},
        holders=staff_names(acting.session, acting.actor, [c.staff_id for c in theirs]),
        # Consent is offered only for an open contact on which this pupil needs it; a notice
        # to parents only where the pupil is at or over the consent age.
        for_consent=[c for c in open_ones if c.id in wanted],
        consent_wanted=wanted,
        for_notice=[c for c in open_ones if not standing[c.id].needs_consent],
        consent_age=acting.policy.consent_age,
        asked_online=asked_online,
        may_read_chronology=acting.actor.has(Role.dsl) or acting.actor.has(Role.trust_dsl),
        methods=list(ConsentMethod),
        today=acting.policy.today(school, acting.at),
    )


@router.get("/app/pupils/import")
def import_page(acting: PageDep) -> Response:
    return page_for(acting, "pupil_import.html", title="Import the pupil list")


@router.post("/app/pupils/import")
def import_list(
    acting: PageDep,
    form_token: Annotated[str, Form(max_length=200)] = "",
    pupil_list: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The MIS's pupil list, as POST /pupils/import takes it: every row or none, and a file
    with a bad row is shown back with each bad row's line, column and problem. (The upload is
    already whole, within the import's size limit: read here, in the endpoint's thread.)"""
    acting.check_form(form_token)
    raw = pupil_list.file.read() if pupil_list is not None else b""
    title = "Import the pupil list"
    if not raw:
        return page_for(acting, "pupil_import.html", title=title, problem=CHOOSE_A_FILE, status=422)
    try:
        report = import_pupils(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            settings=acting.settings,
            at=acting.at,
            csv_text=decode(raw),
        )
    except InvalidInput as refused:
        acting.session.rollback()  # all rows or none
        return page_for(
            acting,
            "pupil_import.html",
            title=title,
            problem=refused.detail,
            rows=refused.extra.get("errors", []),
            status=422,
        )
    return page_for(acting, "pupil_import.html", title="Pupil list imported", report=report)


@router.get("/app/pupils/{pupil_id:int}")
def pupil_page(pupil_id: RecordId, acting: PageDep, done: str | None = None) -> Response:
    notice = {
        "consent": "Consent recorded.",
        "guardian": "Guardian added.",
        "notice": "Parent notice recorded.",
        "withdrawn": "Withdrawal recorded: the pupil's part of the contact has ended, and its"
        " holder has been told to delete the contact method.",
        "asked": "Emailed: each parent asked has a link to give or decline consent.",
    }.get(done or "")
    return pupil_page_with(acting, pupil_id, notice=notice)


class ConsentForm(PageForm):
    contact_id: str = ""
    guardian_id: str = ""
    method: str = ""
    evidence_reference: str = ""
    given_on: str = ""
    expires_on: str = ""


@router.post("/app/pupils/{pupil_id:int}/consents")
def record_consent(
    pupil_id: RecordId, acting: PageDep, form: Annotated[ConsentForm, Form()]
) -> Response:
    """A parent's consent to one contact, as POST /pupils/{id}/consents records it."""

    def read() -> ConsentCreate:
        return ConsentCreate.model_validate(form.values())

    def act(consent_in: ConsentCreate) -> str:
        consent.record_consent(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            contacts=CONTACTS,
            pupil_id=pupil_id,
            consent_in=consent_in,
        )
        return f"/app/pupils/{pupil_id}?done=consent"

    return submit(acting, form, read, act, again=pupil_page_again(acting, pupil_id))


def pupil_page_again(acting: PageActing, pupil_id: int) -> Callable[[Problems], Response]:
    """The pupil's page shown again with a form's problems (its forms: guardian, notice,
    consent)."""
    return lambda problems: pupil_page_with(acting, pupil_id, problems=problems, status=422)
