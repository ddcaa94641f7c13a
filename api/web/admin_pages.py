"""Pages for the school's administrators (and DSLs): pupils, and for one pupil their guardians,
consents and parent notices, with a consent recorded from the signed form or email in hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, submit
from api.web.render import PAGE_SIZE, all_of, page_for, paged
from consent import service as consent
from consent.models import ConsentCreate, ConsentMethod
from contacts import service as contacts
from contacts.consenting import CONTACTS
from core.directory import pupils
from core.directory.models import School
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/app/pupils")
def pupil_list(acting: PageDep, cursor: str | None = None) -> Response:
    found = pupils.list_pupils(
        session=acting.session, actor=acting.actor, cursor=cursor, limit=PAGE_SIZE
    )
    return page_for(acting, "pupils.html", title="Pupils", pager=paged(acting, found))


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
    return page_for(
        acting,
        "pupil.html",
        title=f"{pupil.given_name} {pupil.family_name}",
        notice=notice,
        problems=problems or [],
        status=status,
        pupil=pupil,
        guardians=guardians,
        with_responsibility=[g for g in guardians if g.has_parental_responsibility],
        consents=consent.list_consents(
            session=acting.session, actor=acting.actor, pupil_id=pupil_id
        ),
        notices=consent.list_parent_notices(
            session=acting.session, actor=acting.actor, pupil_id=pupil_id
        ),
        contacts=all_of(
            contacts.list_contacts, session=acting.session, actor=acting.actor, pupil_id=pupil_id
        ),
        methods=list(ConsentMethod),
        today=acting.policy.today(school, acting.at),
    )


@router.get("/app/pupils/{pupil_id:int}")
def pupil_page(pupil_id: RecordId, acting: PageDep, done: str | None = None) -> Response:
    notice = {
        "consent": "Consent recorded.",
        "guardian": "Guardian added.",
        "notice": "Parent notice recorded.",
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
