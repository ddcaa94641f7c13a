"""Passkeys on the pages: the signed-in person's own (add one in the browser, remove one), and
signing in with one from the sign-in page; beside them, their links to school accounts. The
same services as /me/passkeys and /me/sso-links; the browser's WebAuthn calls are in
static/passkeys.js."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from api.deps import SessionDep, SettingsDep
from api.problems import domain_problem, problem
from api.routers.passkeys import PasskeyCreate
from api.routing import UnitOfWorkRoute
from api.web.acting import COOKIE, FORM_REFUSED, PageDep
from api.web.forms import PageForm
from api.web.render import back_to, page_for, see_other
from api.web.sign_in import SIGN_IN_COOKIE, set_cookie, sign_in_form_matches
from core import clock
from core.directory.models import Staff
from core.errors import DomainError
from core.identity import browser_sessions, mfa, passkeys, sso_links
from core.identity.auth import roles_of
from core.inputs import RecordId

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


class Posted(BaseModel):
    """What the page's script sends: its form token, and the browser's credential."""

    form_token: str = Field(default="", max_length=200)
    name: str = Field(default="Passkey", max_length=100)
    next: str = Field(default="/", max_length=500)
    credential: dict[str, Any] = Field(default_factory=dict)


def _mine(acting: Any, done: str | None = None, problems: list[str] | None = None) -> Response:
    staff = acting.session.get(Staff, acting.actor.staff_id or 0)
    verify = staff is not None and mfa.required(
        roles_of(acting.session, staff.id or 0), acting.settings
    )
    return page_for(
        acting,
        "passkeys.html",
        title="Your passkeys and school accounts",
        passkeys=passkeys.list_mine(session=acting.session, actor=acting.actor),
        school_accounts=sso_links.list_mine(session=acting.session, actor=acting.actor),
        verify=verify,
        done=done,
        problems=problems or [],
        status=422 if problems else 200,
    )


@router.get("/app/passkeys")
def passkeys_page(acting: PageDep, done: str | None = None) -> Response:
    return _mine(acting, done)


@router.post("/app/passkeys/options")
def registration_options(acting: PageDep, body: Posted) -> Response:
    acting.check_form(body.form_token)
    return JSONResponse(
        passkeys.registration_options(
            session=acting.session, actor=acting.actor, settings=acting.settings, at=acting.at
        )
    )


@router.post("/app/passkeys")
def register(acting: PageDep, body: Posted) -> Response:
    acting.check_form(body.form_token)
    try:
        # The API's own input: the name is one line, like every name stored.
        given = PasskeyCreate(credential=body.credential, name=body.name.strip() or "Passkey")
    except ValidationError as exc:
        return problem(422, f"name: {exc.errors()[0]['msg']}")
    try:
        made = passkeys.register(
            session=acting.session,
            actor=acting.actor,
            credential=given.credential,
            name=given.name,
            settings=acting.settings,
            at=acting.at,
        )
    except DomainError as refused:
        acting.session.rollback()
        return domain_problem(refused)
    return JSONResponse({"id": made.id}, status_code=201)


@router.post("/app/passkeys/{passkey_id:int}/remove")
def remove(passkey_id: RecordId, acting: PageDep, form: Annotated[PageForm, Form()]) -> Response:
    acting.check_form(form.form_token)
    try:
        passkeys.remove(
            session=acting.session,
            actor=acting.actor,
            passkey_id=passkey_id,
            settings=acting.settings,
            at=acting.at,
        )
    except DomainError as refused:
        if refused.status == 404:
            raise
        acting.session.rollback()
        return _mine(acting, problems=[refused.detail])
    return see_other("/app/passkeys?done=removed")


@router.post("/app/sso-links/{link_id:int}/remove")
def unlink(link_id: RecordId, acting: PageDep, form: Annotated[PageForm, Form()]) -> Response:
    """The same as `DELETE /me/sso-links/{id}`."""
    acting.check_form(form.form_token)
    sso_links.remove_mine(session=acting.session, actor=acting.actor, link_id=link_id, at=acting.at)
    return see_other("/app/passkeys?done=unlinked")


@router.post("/sign-in/passkey/options")
def sign_in_options(
    request: Request, body: Posted, session: SessionDep, settings: SettingsDep
) -> Response:
    if not sign_in_form_matches(request, body.form_token):
        return problem(403, FORM_REFUSED)
    return JSONResponse(
        passkeys.sign_in_options(session=session, settings=settings, at=clock.now())
    )


@router.post("/sign-in/passkey")
def sign_in_with_passkey(
    request: Request, body: Posted, session: SessionDep, settings: SettingsDep
) -> Response:
    """A passkey that verifies signs its account in: with the device's check of its user, it is
    both factors at once, so no code is asked for."""
    if not sign_in_form_matches(request, body.form_token):
        return problem(403, FORM_REFUSED)
    at = clock.now()
    try:
        staff = passkeys.authenticate(
            session=session,
            credential=body.credential,
            client=request.client.host if request.client else "unknown",
            settings=settings,
            at=at,
        )
    except DomainError as refused:
        return domain_problem(refused)  # returned: the challenge stays spent
    assert staff.id is not None
    cookie = browser_sessions.start(
        session=session,
        staff_id=staff.id,
        generation=staff.token_generation,
        settings=settings,
        at=at,
    )
    answer = JSONResponse({"next": back_to(body.next)})
    set_cookie(answer, COOKIE, cookie, settings)
    answer.delete_cookie(SIGN_IN_COOKIE, path="/")
    return answer
