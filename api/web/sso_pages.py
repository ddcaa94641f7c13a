"""Signing in with the school's Microsoft or Google account (core/identity/sso.py): the redirect
to the provider, its answer, a first link confirmed with the person's contactlog sign-in, and
the second factor contactlog still asks for itself. Every refusal is shown on the sign-in
page, in the words of the rule that refused."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from api.deps import PasswordsDep, SessionDep, SettingsDep, TokensDep
from api.routing import UnitOfWorkRoute
from api.web.acting import FORM_REFUSED
from api.web.render import back_to, page
from api.web.sign_in import (
    ASK_FOR_CODE,
    SIGN_IN_COOKIE,
    fresh_form_token,
    set_cookie,
    sign_in_form_matches,
    sign_in_form_page,
    signed_in,
)
from core import clock
from core.directory.models import Staff
from core.errors import DomainError, NotFound
from core.identity import devices, sso, sso_provider
from core.identity.auth import IssuedToken, SecondFactorNeeded, sign_in
from core.identity.models import SsoAttempt
from core.settings import Settings

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)
# Sent back by the provider's redirect, a navigation from another site: SameSite=Lax, so the
# browser brings it; it binds the sign-in to the browser that began it.
SSO_COOKIE = "contactlog_sso"
# Set by the invitation's page for the provider's start to find (the token never travels in a
# URL that is logged); sent only to /auth/sso/.
INVITATION_COOKIE = "contactlog_invitation"
INVITATION_PATH = "/auth/sso/"
LINK_PAGE = "/sign-in/sso/link"
CODE_PAGE = "/sign-in/sso/code"


def _redirect_uri(settings: Settings, provider: str) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/sso/{provider}/callback"


def _known(provider: str) -> str:
    if provider not in sso_provider.PROVIDERS:
        raise NotFound(f"No single sign-on with {provider!r}: microsoft or google.")
    return provider


@router.get("/auth/sso/{provider}/start")
def start(
    provider: str,
    trust: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    next: str = "/",
    accept: bool = False,
) -> Response:
    """To the provider's sign-in page, with PKCE, `state` and `nonce`; `accept`: accepting the
    invitation whose page this browser opened."""
    invitation = request.cookies.get(INVITATION_COOKIE, "") if accept else None
    if accept and not invitation:
        return _refused(settings, session, "Open the link in your invitation email again.", 400)
    begun = sso.begin(
        session=session,
        provider=_known(provider),
        trust_id=trust,
        then=back_to(next),
        redirect_uri=_redirect_uri(settings, provider),
        address=request.client.host if request.client else "unknown",
        settings=settings,
        at=clock.now(),
        invitation=invitation,
    )
    away = RedirectResponse(begun.url, status_code=303)
    away.set_cookie(
        SSO_COOKIE,
        begun.browser,
        max_age=int(sso.ATTEMPT_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
        path="/",
    )
    return away


def _refused(settings: Settings, session: SessionDep, detail: str, status: int) -> Response:
    shown = sign_in_form_page(settings, session, problem=detail, status=status)
    shown.delete_cookie(SSO_COOKIE, path="/")
    return shown


@router.get("/auth/sso/{provider}/callback")
def callback(
    provider: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    """The provider's answer. A refusal is returned, not raised: the sign-in it used stays
    spent, so the same answer brought again is refused too."""
    name = sso_provider.PROVIDERS.get(_known(provider), provider)
    if error or not code or not state:
        return _refused(
            settings, session, f"Signing in with {name} did not finish. Try again.", 401
        )
    at = clock.now()
    try:
        answered = sso.answer(
            session=session,
            provider=provider,
            state=state,
            code=code,
            issuer=request.query_params.get("iss"),
            browser=request.cookies.get(SSO_COOKIE),
            redirect_uri=_redirect_uri(settings, provider),
            settings=settings,
            at=at,
        )
    except DomainError as refused:
        return _refused(settings, session, refused.detail, refused.status)
    if answered.stage == "link":
        return _link_page(settings, answered.staff, name)
    if answered.stage == "code":
        return _code_page(settings)
    return _signed_in(
        session, settings, answered.staff, answered.then, answered.enrol_only, from_provider=True
    )


def _signed_in(
    session: SessionDep,
    settings: Settings,
    staff: Staff,
    then: str,
    enrol_only: bool,
    device_token: str | None = None,
    *,
    from_provider: bool = False,
) -> Response:
    assert staff.id is not None
    home = signed_in(
        session,
        settings,
        staff_id=staff.id,
        generation=staff.token_generation,
        enrol_only=enrol_only,
        then=then,
        at=clock.now(),
        device_token=device_token,
        after_another_site=from_provider,
    )
    home.delete_cookie(SSO_COOKIE, path="/")
    home.delete_cookie(INVITATION_COOKIE, path=INVITATION_PATH)
    return home


def _with_form_token(
    settings: Settings, template: str, status: int = 200, **context: Any
) -> Response:
    token = fresh_form_token()
    shown = page(template, sign_in_token=token, status=status, **context)
    set_cookie(shown, SIGN_IN_COOKIE, token, settings, max_age=3600)
    return shown


def _link_page(
    settings: Settings, staff: Staff, name: str, *, problem: str | None = None, status: int = 200
) -> Response:
    return _with_form_token(
        settings,
        "sso_link.html",
        title=f"Link your {name} account",
        provider_name=name,
        email=staff.email,
        problem=problem,
        status=status,
    )


def _code_page(settings: Settings, *, problem: str | None = None, status: int = 200) -> Response:
    return _with_form_token(
        settings, "sso_code.html", title="Your second factor", problem=problem, status=status
    )


class LinkForm(BaseModel):
    password: str = Field(default="", max_length=1024)
    code: str = Field(default="", max_length=20)
    form_token: str = Field(default="", max_length=100)


def _waiting(request: Request, session: SessionDep, settings: Settings, stage: str) -> SsoAttempt:
    return sso.waiting(
        session=session,
        browser=request.cookies.get(SSO_COOKIE),
        stage=stage,
        settings=settings,
        at=clock.now(),
    )


@router.post(LINK_PAGE)
def confirm_link(
    request: Request,
    form: Annotated[LinkForm, Form()],
    session: SessionDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    settings: SettingsDep,
) -> Response:
    """The person shows their contactlog sign-in (password, and code where the account has a
    second factor), through the same sign-in and limits as the sign-in page; then the link is
    made and they are signed in."""
    try:
        attempt = _waiting(request, session, settings, "link")
    except DomainError as refused:
        return _refused(settings, session, refused.detail, refused.status)
    staff = session.get(Staff, attempt.staff_id or 0)
    name = sso.provider_name(session, attempt)
    assert staff is not None
    if not sign_in_form_matches(request, form.form_token):
        return _link_page(settings, staff, name, problem=FORM_REFUSED, status=403)
    at = clock.now()
    outcome = sign_in(
        session=session,
        email=staff.email,
        password=form.password,
        otp=form.code.strip() or None,
        device=request.cookies.get(devices.COOKIE),
        client=request.client.host if request.client else "unknown",
        passwords=passwords,
        tokens=tokens,
        settings=settings,
        at=at,
        to_link=True,
    )
    if isinstance(outcome, SecondFactorNeeded):
        return _link_page(settings, staff, name, problem=ASK_FOR_CODE, status=401)
    if not isinstance(outcome, IssuedToken):
        return _link_page(settings, staff, name, problem=outcome.detail, status=401)
    try:
        sso.link(session=session, attempt=attempt, settings=settings, at=at)
    except DomainError as refused:
        session.rollback()
        return _refused(settings, session, refused.detail, refused.status)
    return _signed_in(
        session, settings, staff, attempt.next, outcome.enrol_only, outcome.device_token
    )


class CodeForm(BaseModel):
    code: str = Field(default="", max_length=20)
    form_token: str = Field(default="", max_length=100)


@router.post(CODE_PAGE)
def give_code(
    request: Request, form: Annotated[CodeForm, Form()], session: SessionDep, settings: SettingsDep
) -> Response:
    """The account's second factor after the provider: Entra's tokens do not say whether one
    was used, so contactlog asks for its own."""
    try:
        attempt = _waiting(request, session, settings, "code")
    except DomainError as refused:
        return _refused(settings, session, refused.detail, refused.status)
    if not sign_in_form_matches(request, form.form_token):
        return _code_page(settings, problem=FORM_REFUSED, status=403)
    then = attempt.next
    try:
        staff = sso.give_code(
            session=session,
            attempt=attempt,
            code=form.code.strip(),
            client=request.client.host if request.client else "unknown",
            settings=settings,
            at=clock.now(),
        )
    except DomainError as refused:
        return _code_page(settings, problem=refused.detail, status=refused.status)
    if staff is None:
        return _code_page(settings, problem=sso.WRONG_CODE, status=401)
    return _signed_in(session, settings, staff, then, enrol_only=False)
