"""Consent pages: the parents' refusals a school has to resolve (its DSLs and headteacher),
each beside its pupil and contact, resolved in the school's own words; and, from a pupil's
page, a withdrawal the office takes by phone and consent asked of the parents by email."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.admin_pages import pupil_page_again, pupil_page_with
from api.web.forms import PageForm, Problems, submit
from api.web.render import PAGE_SIZE, page_for, paged, see_other
from consent import refusals, requests
from consent import service as consent
from consent.models import ResolutionCreate, WithdrawalCreate
from contacts.consenting import CONTACTS
from core.directory.names import guardian_names, pupil_names
from core.errors import RuleBroken
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/app/refusals")
def refusals_page(acting: PageDep, done: str | None = None, cursor: str | None = None) -> Response:
    return _refusals(acting, cursor=cursor, notice="Resolved." if done == "resolved" else None)


def _refusals(
    acting: PageActing,
    *,
    cursor: str | None = None,
    notice: str | None = None,
    problems: Problems | None = None,
    failed: int | None = None,
    status: int = 200,
) -> Response:
    found = refusals.to_resolve(
        session=acting.session, actor=acting.actor, cursor=cursor, limit=PAGE_SIZE
    )
    return page_for(
        acting,
        "refusals.html",
        title="Refusals to resolve",
        notice=notice,
        problems=problems,
        failed=failed,
        status=status,
        pager=paged(acting, found),
        pupils=pupil_names(acting.session, acting.actor, (r.pupil_id for r in found.items)),
        guardians=guardian_names(
            acting.session, acting.actor, (r.guardian_id for r in found.items)
        ),
    )


class ResolutionForm(PageForm):
    how: str = ""


@router.post("/app/refusals/{request_id:int}")
def resolve(
    request_id: RecordId, acting: PageDep, form: Annotated[ResolutionForm, Form()]
) -> Response:
    """As POST /consent-requests/{id}/resolution: how the school resolved it with the family."""

    def read() -> ResolutionCreate:
        return ResolutionCreate.model_validate(form.values())

    def act(resolution: ResolutionCreate) -> str:
        refusals.resolve(
            session=acting.session,
            actor=acting.actor,
            at=acting.at,
            contacts=CONTACTS,
            request_id=request_id,
            resolution=resolution,
        )
        return "/app/refusals?done=resolved"

    def again(problems: Problems) -> Response:
        return _refusals(acting, problems=problems, failed=request_id, status=422)

    return submit(acting, form, read, act, again)


class WithdrawalForm(PageForm):
    pupil_id: int = 0  # the page to come back to
    withdrawn_on: str = ""
    reason: str = ""


@router.post("/app/consents/{consent_id:int}/withdrawal")
def withdraw(
    consent_id: RecordId, acting: PageDep, form: Annotated[WithdrawalForm, Form()]
) -> Response:
    """A parent phones the office: as POST /consents/{id}/withdrawal, the pupil's part of the
    contact ends at once and its holder is told to delete the contact method."""

    def read() -> WithdrawalCreate:
        return WithdrawalCreate.model_validate(form.values(but=("pupil_id",)))

    def act(withdrawal: WithdrawalCreate) -> str:
        withdrawn = consent.withdraw_consent(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            contacts=CONTACTS,
            consent_id=consent_id,
            withdrawal=withdrawal,
        )
        return f"/app/pupils/{withdrawn.pupil_id}?done=withdrawn"

    return submit(acting, form, read, act, again=pupil_page_again(acting, form.pupil_id))


class AskForm(PageForm):
    pupil_id: int = 0  # the page to come back to


@router.post("/app/contacts/{contact_id:int}/consent-requests")
def ask_parents(
    contact_id: RecordId, acting: PageDep, form: Annotated[AskForm, Form()]
) -> Response:
    """As POST /contacts/{id}/consent-requests: each parent with parental responsibility and an
    email address, of every pupil on the contact who needs consent and has none, is emailed a
    link; nobody already waiting is asked twice, so sending again is safe."""

    acting.check_form(form.form_token)
    try:
        requests.send_requests(
            session=acting.session,
            actor=acting.actor,
            policy=acting.policy,
            at=acting.at,
            contacts=CONTACTS,
            contact_id=contact_id,
            base_url=acting.settings.public_url,
        )
    except RuleBroken as nobody:  # said on the pupil's page, where the button was
        acting.session.rollback()
        return pupil_page_with(acting, form.pupil_id, problems=[nobody.detail], status=422)
    return see_other(f"/app/pupils/{form.pupil_id}?done=asked")
