"""Signing in and out of the pages: email, password and (where the account has one) the code
from an authenticator app, through the same sign-in as `POST /auth/token`, throttling included.
The session cookie is HttpOnly, SameSite=Strict, and Secure in production."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.deps import PasswordsDep, SessionDep, SettingsDep, TokensDep
from api.routing import UnitOfWorkRoute
from api.web.acting import COOKIE, FORM_REFUSED, PageDep
from api.web.render import page, see_other
from core import browser_sessions, clock
from core.auth import IssuedToken, SecondFactorNeeded, sign_in
from core.settings import Settings

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
# Before there is a session, the sign-in form's token is checked against a cookie of its own.
SIGN_IN_COOKIE = "contactlog_sign_in"
ASK_FOR_CODE = "Enter the code from your authenticator app (or one of your recovery codes)."
NEEDS_ENROLMENT = (
    "Your role needs a second factor and this account has none yet. Set one up with the staff "
    "client (`contactlog mfa`) or POST /me/mfa, then sign in here with its code."
)


def _cookie(response: Response, name: str, value: str, settings: Settings, **extra: int) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=settings.environment == "production",
        path="/",
        **extra,  # type: ignore[arg-type]
    )


def _form(
    settings: Settings, *, problem: str | None = None, email: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    shown = page("sign_in.html", sign_in_token=token, problem=problem, email=email, status=status)
    _cookie(shown, SIGN_IN_COOKIE, token, settings, max_age=3600)
    return shown


@router.get("/sign-in")
def sign_in_page(settings: SettingsDep) -> Response:
    return _form(settings)


@router.post("/sign-in")
def sign_in_form(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=20)] = "",
    form_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not browser_sessions.form_token_matches(expected, form_token):
        return _form(settings, problem=FORM_REFUSED, status=403)
    at = clock.now()
    outcome = sign_in(
        session=session,
        email=email,
        password=password,
        otp=code.strip() or None,
        client=request.client.host if request.client else "unknown",
        passwords=passwords,
        tokens=tokens,
        settings=settings,
        at=at,
    )
    if isinstance(outcome, SecondFactorNeeded):
        asked = outcome == SecondFactorNeeded()  # the password was right; no code was given
        said = ASK_FOR_CODE if asked else outcome.detail
        return _form(settings, problem=said, email=email, status=401)
    if not isinstance(outcome, IssuedToken):
        return _form(settings, problem=outcome.detail, email=email, status=401)
    if outcome.enrol_only:
        return _form(settings, problem=NEEDS_ENROLMENT, email=email, status=403)
    claims = tokens.read(outcome.access_token)
    cookie = browser_sessions.start(
        session=session, staff_id=claims.staff_id, generation=claims.generation, at=at
    )
    home = see_other("/")
    _cookie(home, COOKIE, cookie, settings)
    home.delete_cookie(SIGN_IN_COOKIE, path="/")
    return home


@router.post("/sign-out")
def sign_out(
    request: Request, acting: PageDep, form_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    acting.check_form(form_token)
    browser_sessions.end(session=acting.session, token=request.cookies.get(COOKIE), at=acting.at)
    gone = see_other("/sign-in")
    gone.delete_cookie(COOKIE, path="/")
    return gone
