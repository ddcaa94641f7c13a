"""Sign-in, revocation and "who am I"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ActingDep, PasswordsDep, SessionDep, SettingsDep, TokensDep
from api.problems import problem
from api.routing import UnitOfWorkRoute
from core.clock import now
from core.directory.models import Role, School
from core.directory.staff import get_staff
from core.errors import InvalidInput
from core.identity import accounts, device_grant
from core.identity.auth import IssuedToken, SecondFactorNeeded, revoke_tokens, sign_in
from core.inputs import Forbid
from core.text import one_line

router = APIRouter(route_class=UnitOfWorkRoute, tags=["auth"])


class TokenPublic(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    # True when the account must enrol a second factor first: the token can only do that.
    enrol_only: bool = False
    # Keep it and send it with the next sign-in (`device_token`): others' failed sign-ins then
    # never lock this device out.
    device_token: str | None = None


class MePublic(BaseModel):
    id: int
    name: str
    email: str
    roles: list[Role]
    school_id: int
    school_name: str
    line_manager_id: int | None
    is_headteacher: bool


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    responses={401: {"description": "Wrong email or password"}, 429: {"description": "Throttled"}},
)
def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    otp: Annotated[
        str | None,
        Form(max_length=64, description="The code from your authenticator app, or a recovery code"),
    ] = None,
    device_token: Annotated[
        str | None,
        Form(max_length=100, description="The device token an earlier sign-in answered"),
    ] = None,
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    tokens: TokensDep,
    passwords: PasswordsDep,
) -> TokenPublic | Response:
    """OAuth2 password flow: email as `username`, and the password."""
    if not form.username.isprintable():
        raise InvalidInput(
            "The username is an email address: it cannot hold control characters.",
            extra={"errors": [{"field": "username", "message": "control character"}]},
        )
    outcome = sign_in(
        session=session,
        email=form.username,
        password=form.password,
        otp=otp,
        device=device_token,
        client=request.client.host if request.client else "unknown",
        passwords=passwords,
        tokens=tokens,
        settings=settings,
        at=now(),
    )
    # Refusals are returned rather than raised, so the unit of work keeps the failure's count.
    if isinstance(outcome, SecondFactorNeeded):
        return problem(
            401, outcome.detail, slug="second-factor-required", title="Second factor required"
        )
    if not isinstance(outcome, IssuedToken):
        return problem(401, outcome.detail, slug="sign-in-refused", title="Sign-in refused")
    return TokenPublic(
        access_token=outcome.access_token,
        token_type=outcome.token_type,
        expires_in=outcome.expires_in,
        enrol_only=outcome.enrol_only,
        device_token=outcome.device_token,
    )


class DeviceAuthorization(BaseModel):
    """RFC 8628 §3.2: what the client shows the person, and the code it polls with."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@router.post("/auth/device", response_model=DeviceAuthorization)
def device_authorization(
    client_id: Annotated[str, Form(max_length=100)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client_name: Annotated[
        str, Form(max_length=100, description="What the person will be told asked")
    ] = "contactlog staff client",
) -> DeviceAuthorization:
    """The staff client asks to sign in through the browser (OAuth 2.0 device authorization
    grant, RFC 8628): show the person the code and the address; poll `/auth/device/token`."""
    started = device_grant.start(
        session,
        client_id=client_id,
        client_name=one_line(client_name),
        asked_from=one_line(request.headers.get("user-agent", "unknown")),
        address=request.client.host if request.client else "unknown",
        settings=settings,
        at=now(),
    )
    page = settings.public_url.rstrip("/") + "/app/device"
    return DeviceAuthorization(
        device_code=started.device_code,
        user_code=started.user_code,
        verification_uri=page,
        verification_uri_complete=f"{page}?code={started.user_code}",
        expires_in=started.expires_in,
        interval=started.interval,
    )


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@router.post(
    "/auth/device/token",
    response_model=TokenPublic,
    responses={400: {"description": "Not yet, too soon, refused or expired (`error`)"}},
)
def device_token_poll(
    grant_type: Annotated[str, Form(max_length=100, examples=[DEVICE_GRANT])],
    device_code: Annotated[str, Form(max_length=100)],
    client_id: Annotated[str, Form(max_length=100, examples=[device_grant.CLIENT_ID])],
    session: SessionDep,
    settings: SettingsDep,
    tokens: TokensDep,
) -> TokenPublic | Response:
    """The client's poll: 400 with RFC 8628's `error` (`authorization_pending`, `slow_down`,
    `access_denied`, `expired_token`) until approved; then its token, once."""
    if grant_type != DEVICE_GRANT:
        return problem(400, f"grant_type must be {DEVICE_GRANT}.", error="unsupported_grant_type")
    outcome = device_grant.poll(
        session,
        client_id=client_id,
        device_code=device_code,
        tokens=tokens,
        settings=settings,
        at=now(),
    )
    # Returned, not raised: a poll's own record (its time, a slowed interval) is kept.
    if isinstance(outcome, device_grant.NotYet):
        return problem(
            400, outcome.detail, slug=outcome.error.replace("_", "-"), error=outcome.error
        )
    return TokenPublic(
        access_token=outcome.access_token,
        token_type=outcome.token_type,
        expires_in=outcome.expires_in,
        device_token=outcome.device_token,
    )


class PasswordResetCreate(Forbid):
    email: str = Field(min_length=3, max_length=254)


class PasswordSetCreate(Forbid):
    # A password is taken exactly as typed: never stripped, never truncated.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Accepted(BaseModel):
    detail: str


@router.post("/auth/password-reset", response_model=Accepted, status_code=202)
def password_reset(
    body: PasswordResetCreate, request: Request, session: SessionDep, settings: SettingsDep
) -> Accepted:
    """Email a link to choose a new password. The answer is the same whether or not the
    address has an account."""
    at = now()
    client = request.client.host if request.client else "unknown"
    accounts.request_reset(session, email=body.email, client=client, settings=settings, at=at)
    return Accepted(detail="If the address belongs to an account, a link has been emailed to it.")


@router.post("/auth/password", status_code=204)
def set_password(body: PasswordSetCreate, session: SessionDep, passwords: PasswordsDep) -> Response:
    """Choose a password with the token from an invitation or reset email (it works once).
    Every other session of the account ends."""
    accounts.set_password(
        session, token=body.token, password=body.password, passwords=passwords, at=now()
    )
    return Response(status_code=204)


@router.post("/auth/revoke", status_code=204)
def revoke(acting: ActingDep) -> Response:
    """Sign out everywhere: every token issued to me so far stops working."""
    revoke_tokens(session=acting.session, actor=acting.actor)
    return Response(status_code=204)


@router.get("/me", response_model=MePublic)
def me(acting: ActingDep) -> MePublic:
    """Who I am signed in as: my account, roles and school."""
    actor, session = acting.actor, acting.session
    assert actor.staff_id is not None
    staff = get_staff(session=session, actor=actor, at=acting.at, staff_id=actor.staff_id)
    school = session.get(School, staff.school_id)
    assert school is not None
    return MePublic(
        **staff.model_dump(include=set(MePublic.model_fields) - {"school_name"}),
        school_name=school.name,
    )
