"""The page where a member of staff approves the staff client's sign-in through the browser
(RFC 8628): type the code the client shows, see which client asked, from where and when, and
approve it as yourself or refuse it. The same service as /auth/device."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from api.routing import UnitOfWorkRoute
from api.web.acting import PageActing, PageDep
from api.web.forms import PageForm
from api.web.render import page_for
from core.errors import InvalidInput
from core.identity import device_grant

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _page(
    acting: PageActing,
    *,
    code: str = "",
    grant: object | None = None,
    done: str | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    return page_for(
        acting,
        "device.html",
        title="Sign in the staff client",
        code=code,
        grant=grant,
        done=done,
        problems=problems or [],
        status=status,
    )


@router.get("/app/device")
def device_page(acting: PageDep, code: str = "") -> Response:
    """The code is asked for even when the link carries it: approving must be a choice made on
    this page, never a link followed."""
    return _page(acting, code=device_grant.normal(code)[:8])


class DeviceForm(PageForm):
    user_code: str = ""
    choice: str = ""


@router.post("/app/device")
def answer_device(acting: PageDep, form: Annotated[DeviceForm, Form()]) -> Response:
    acting.check_form(form.form_token)
    settings, session = acting.settings, acting.session
    try:
        if form.choice not in ("approve", "refuse"):
            grant = device_grant.waiting(
                session, user_code=form.user_code, settings=settings, at=acting.at
            )
            return _page(acting, code=device_grant.normal(form.user_code), grant=grant)
        device_grant.answer(
            session,
            actor=acting.actor,
            user_code=form.user_code,
            approve=form.choice == "approve",
            settings=settings,
            at=acting.at,
        )
    except InvalidInput as refused:
        return _page(acting, code=form.user_code, problems=[refused.detail], status=422)
    return _page(acting, done=form.choice)
