"""The page an emailed invitation or reset link opens: the owner chooses their password.

A page of the templates like every other, under the same Content-Security-Policy, readable on a
phone; the same service as `POST /auth/password`.
The token travels in the link's path, so the access log masks that path (see `api.app`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import PasswordsDep, SessionDep, SettingsDep
from api.routing import UnitOfWorkRoute
from api.web.render import page
from api.web.sso_pages import INVITATION_COOKIE, INVITATION_PATH
from core.clock import now
from core.directory.models import School
from core.errors import DomainError
from core.identity import accounts, sso_connections

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _form(
    token: str,
    problem: str | None = None,
    status: int = 200,
    *,
    school_accounts: list[sso_connections.Offered] | None = None,
    passwords_off: bool = False,
) -> HTMLResponse:
    return page(
        "choose_password.html",
        title="Accept your invitation" if school_accounts else "Choose your password",
        token=token,
        problem=problem,
        min_length=accounts.MIN_LENGTH,
        max_length=accounts.MAX_LENGTH,
        status=status,
        school_accounts=school_accounts or [],
        passwords_off=passwords_off,
    )


@router.get("/account/password/{token}", response_class=HTMLResponse)
def choose_password_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """An invitation to a trust with single sign-on may be accepted through the school account
    instead (and only so, where the trust has turned passwords off)."""
    try:
        link, staff = accounts.open_link(session, token=token, at=now())
    except DomainError:
        return _form(token)
    school = session.get(School, staff.school_id)
    offered = sso_connections.offered(session, trust_id=school.trust_id) if school else []
    if link.purpose != accounts.LinkPurpose.invitation or not offered:
        return _form(token)
    shown = _form(
        token,
        school_accounts=offered,
        passwords_off=sso_connections.passwords_off(session, staff) is not None,
    )
    shown.set_cookie(
        INVITATION_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
        path=INVITATION_PATH,
    )
    return shown


class PasswordForm(BaseModel):
    """The link's token (the form's own guard: without it nothing is set), and the password
    twice; how long a password may be is the account's rule, said on the page."""

    token: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    again: str = Field(max_length=1000)


@router.post("/account/password", response_class=HTMLResponse)
def choose_password(
    form: Annotated[PasswordForm, Form()], session: SessionDep, passwords: PasswordsDep
) -> HTMLResponse:
    token = form.token
    if form.password != form.again:
        return _form(token, "The two passwords differ.", 422)
    try:
        accounts.set_password(
            session, token=token, password=form.password, passwords=passwords, at=now()
        )
    except DomainError as refused:
        session.rollback()
        return _form(token, refused.detail, refused.status)
    return page("choose_password.html", title="Your password is set", done=True)
