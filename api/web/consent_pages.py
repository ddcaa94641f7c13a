"""Consent pages: the parents' refusals a school has to resolve (its DSLs and headteacher),
each beside its pupil and contact, resolved in the school's own words."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm, Problems, submit
from api.web.render import PAGE_SIZE, page_for, paged
from consent import refusals
from consent.models import ResolutionCreate
from contacts.consenting import CONTACTS
from core.directory.names import guardian_names, pupil_names
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
