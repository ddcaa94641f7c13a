"""Signing in and out of the pages: email, password and (where the account has one) the code
from an authenticator app, through the same sign-in as `POST /auth/token`, throttling included.
The session cookie is HttpOnly, SameSite=Strict, and Secure in production."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import PasswordsDep, SessionDep, SettingsDep, TokensDep
from api.routing import UnitOfWorkRoute
from api.web.acting import COOKIE, FORM_REFUSED, SECOND_FACTOR_PAGE, PageDep
from api.web.forms import PageForm
from api.web.render import back_to, page, page_for, see_other
from core import clock
from core.identity import accounts, browser_sessions, devices, mfa, sso_connections
from core.identity.auth import IssuedToken, SecondFactorNeeded, sign_in
from core.settings import Settings

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
# Before there is a session, the sign-in form's token is checked against a cookie of its own.
SIGN_IN_COOKIE = "contactlog_sign_in"
ASK_FOR_CODE = "Enter the code from your authenticator app (or one of your recovery codes)."
FORGOTTEN_PAGE = "/sign-in/forgotten"
RECOVERY_FILE = (
    "{issuer} recovery codes\n\nEach works once, in place of the code from your app, if your"
    " phone is lost.\n\n{codes}\n"
)
GIVE_AN_ADDRESS = "Give the email address you sign in with, like name@school.org."


def set_cookie(response: Response, name: str, value: str, settings: Settings, **extra: int) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=settings.environment == "production",
        path="/",
        **extra,  # type: ignore[arg-type]
    )


def fresh_form_token() -> str:
    """A form's token before there is a session: the page sets it in a cookie of its own."""
    return secrets.token_urlsafe(24)


def sign_in_form_matches(request: Request, token: str) -> bool:
    """A form posted before there is a session: its token is the one its page set in a cookie."""
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(expected) and browser_sessions.form_token_matches(expected, token)


def signed_in(
    session: Session,
    settings: Settings,
    *,
    staff_id: int,
    generation: int,
    enrol_only: bool,
    then: str,
    at: datetime,
    device_token: str | None = None,
    after_another_site: bool = False,
) -> Response:
    """A new page session, and on to the page asked for; an account that must have a second
    factor and has none sets one up before anything else. After another site's redirect (a
    provider's), the browser withholds the SameSite=Strict cookie from a further redirect, so
    a page of contactlog's own steps on instead."""
    cookie = browser_sessions.start(
        session=session,
        staff_id=staff_id,
        generation=generation,
        settings=settings,
        at=at,
        enrol_only=enrol_only,
    )
    onwards = SECOND_FACTOR_PAGE if enrol_only else back_to(then)
    home: Response = (
        page("signed_in.html", title="Signed in", onwards=onwards)
        if after_another_site
        else see_other(onwards)
    )
    set_cookie(home, COOKIE, cookie, settings)
    if device_token:
        max_age = settings.trusted_device_days * 24 * 3600
        set_cookie(home, devices.COOKIE, device_token, settings, max_age=max_age)
    home.delete_cookie(SIGN_IN_COOKIE, path="/")
    return home


def sign_in_form_page(
    settings: Settings,
    session: Session,
    *,
    problem: str | None = None,
    email: str = "",
    status: int = 200,
    then: str = "/",
) -> Response:
    """The sign-in page: the trusts' school accounts first, then email and password."""
    token = fresh_form_token()
    shown = page(
        "sign_in.html",
        sign_in_token=token,
        problem=problem,
        email=email,
        status=status,
        then=back_to(then),
        school_accounts=sso_connections.offered(session),
    )
    set_cookie(shown, SIGN_IN_COOKIE, token, settings, max_age=3600)
    return shown


@router.get("/sign-in")
def sign_in_page(session: SessionDep, settings: SettingsDep, next: str | None = None) -> Response:
    """`next`: the page to return to (an emailed link opened before signing in)."""
    return sign_in_form_page(settings, session, then=next or "/")


class SignInForm(BaseModel):
    """The sign-in form: its token is the one its page set in a cookie (there is no session yet)."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    code: str = Field(default="", max_length=20)
    form_token: str = Field(default="", max_length=100)
    # The page to return to once signed in (only ever one of contactlog's own: `back_to`).
    next: str = Field(default="/", max_length=2000)


@router.post("/sign-in")
def sign_in_form(
    request: Request,
    form: Annotated[SignInForm, Form()],
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    settings: SettingsDep,
) -> Response:
    email = form.email
    if not sign_in_form_matches(request, form.form_token):
        return sign_in_form_page(
            settings, session, problem=FORM_REFUSED, status=403, then=form.next
        )
    at = clock.now()
    outcome = sign_in(
        session=session,
        email=email,
        password=form.password,
        otp=form.code.strip() or None,
        device=request.cookies.get(devices.COOKIE),
        client=request.client.host if request.client else "unknown",
        passwords=passwords,
        tokens=tokens,
        settings=settings,
        at=at,
    )
    if isinstance(outcome, SecondFactorNeeded):  # said whether or not the password was right
        return sign_in_form_page(
            settings, session, problem=ASK_FOR_CODE, email=email, status=401, then=form.next
        )
    if not isinstance(outcome, IssuedToken):
        return sign_in_form_page(
            settings, session, problem=outcome.detail, email=email, status=401, then=form.next
        )
    claims = tokens.read(outcome.access_token)
    return signed_in(
        session,
        settings,
        staff_id=claims.staff_id,
        generation=claims.generation,
        enrol_only=outcome.enrol_only,
        then=form.next,
        at=at,
        device_token=outcome.device_token,
    )


@router.get(FORGOTTEN_PAGE)
def forgotten_password_page(settings: SettingsDep) -> Response:
    return _forgotten(settings)


def _forgotten(settings: Settings, *, problem: str | None = None, status: int = 200) -> Response:
    token = fresh_form_token()
    shown = page(
        "forgotten_password.html",
        title="Forgotten your password?",
        sign_in_token=token,
        problem=problem,
        status=status,
    )
    set_cookie(shown, SIGN_IN_COOKIE, token, settings, max_age=3600)
    return shown


class ForgottenForm(BaseModel):
    email: str = Field(default="", max_length=254)
    form_token: str = Field(default="", max_length=100)


@router.post(FORGOTTEN_PAGE)
def forgotten_password(
    request: Request,
    form: Annotated[ForgottenForm, Form()],
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """A link to choose a new password is emailed, as `POST /auth/password-reset` sends it; the
    page says the same whether or not the address has an account, and counts each request
    from the address against the same limit."""
    if not sign_in_form_matches(request, form.form_token):
        return _forgotten(settings, problem=FORM_REFUSED, status=403)
    email = form.email.strip()
    if "@" not in email:
        return _forgotten(settings, problem=GIVE_AN_ADDRESS, status=422)
    at = clock.now()
    client = request.client.host if request.client else "unknown"
    accounts.request_reset(session, email=email, client=client, settings=settings, at=at)
    sent = page("forgotten_password.html", title="Check your email", sent=True)
    sent.delete_cookie(SIGN_IN_COOKIE, path="/")
    return sent


@router.post("/sign-out")
def sign_out(request: Request, acting: PageDep, form: Annotated[PageForm, Form()]) -> Response:
    acting.check_form(form.form_token)
    browser_sessions.end(
        session=acting.session,
        token=request.cookies.get(COOKIE),
        settings=acting.settings,
        at=acting.at,
    )
    gone = see_other("/sign-in")
    gone.delete_cookie(COOKIE, path="/")
    return gone


@router.get(SECOND_FACTOR_PAGE)
def second_factor_page(acting: PageDep) -> Response:
    """A new secret as a QR code (and as text) for an authenticator app, and a field for its
    first code; until that code is given, nothing else can be reached."""
    enrolment = mfa.start_enrolment(
        session=acting.session, actor=acting.actor, settings=acting.settings, at=acting.at
    )
    return page_for(
        acting,
        "second_factor.html",
        title="Set up your second factor",
        # segno's own SVG of the link (paths and attributes, no script, no style).
        qr=Markup(enrolment.qr_svg),  # noqa: S704
        # On a phone the code cannot be scanned by the phone showing it: the link opens the
        # authenticator app, and the key in fours is easy to type into one.
        otpauth=enrolment.otpauth_uri,
        key_in_fours=" ".join(
            enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)
        ),
    )


class CodeForm(PageForm):
    code: str = Field(default="", max_length=20)


@router.post(SECOND_FACTOR_PAGE)
def confirm_second_factor(
    request: Request,
    acting: PageDep,
    form: Annotated[CodeForm, Form()],
) -> Response:
    """The first code turns it on; the recovery codes are shown once, and the person signs in
    again with a code (this session ends)."""
    acting.check_form(form.form_token)
    codes = mfa.confirm_enrolment(
        session=acting.session,
        actor=acting.actor,
        settings=acting.settings,
        at=acting.at,
        code=form.code.strip(),
    )
    browser_sessions.end(
        session=acting.session,
        token=request.cookies.get(COOKIE),
        settings=acting.settings,
        at=acting.at,
    )
    shown = page(
        "recovery_codes.html",
        title="Your recovery codes",
        codes=codes,
        # The same codes as a file to keep (the page itself is never cached).
        as_file="data:text/plain;charset=utf-8,"
        + quote(RECOVERY_FILE.format(issuer=acting.settings.mfa_issuer, codes="\n".join(codes))),
    )
    shown.delete_cookie(COOKIE, path="/")
    return shown
