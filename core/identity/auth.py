"""Who is acting: sign-in with throttling, token revocation, the principal behind a token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from core.db import table_of
from core.directory.models import Role, School, Staff, StaffRole
from core.errors import TooManyAttempts, Unauthorized
from core.identity import devices, mfa, throttle
from core.identity.security import Passwords, TokenClaims, TokenService
from core.identity.sso_connections import passwords_off
from core.identity.sso_provider import PROVIDERS
from core.principal import Principal
from core.settings import Settings

INVALID_TOKEN = "The access token is invalid, expired or revoked."


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"
    enrol_only: bool = False
    # The device's token (core/identity/devices.py): kept by the browser or the staff client,
    # brought to the next sign-in, so that others' failures never lock this device out.
    device_token: str | None = None


# One answer for a wrong email, a wrong password and a wrong code: which part was wrong is
# exactly what someone guessing a DSL's password wants to hear.
REFUSED = "The email, password or code is incorrect."


@dataclass(frozen=True)
class SignInRefused:
    detail: str = REFUSED


@dataclass(frozen=True)
class SecondFactorNeeded:
    detail: str = (
        "This account signs in with a second factor: send the code from your authenticator "
        "app (or a recovery code) as `otp`."
    )


def _waiting(
    session: Session, checks: list[tuple[str, str]], at: datetime
) -> TooManyAttempts | None:
    for key, detail in checks:
        wait = throttle.wait_seconds(session, key, at)
        if wait:
            return TooManyAttempts(detail, retry_after=wait)
    return None


def sign_in(
    *,
    session: Session,
    email: str,
    password: str,
    otp: str | None = None,
    device: str | None = None,
    client: str,
    passwords: Passwords,
    tokens: TokenService,
    settings: Settings,
    at: datetime,
    to_link: bool = False,
) -> IssuedToken | SignInRefused | SecondFactorNeeded:
    """Check an email, password and (where the account has one) second factor from one client
    address and, if it brings one, a device token; a refusal is returned, not raised, so that
    its count is kept. See `core.identity.throttle` and `core.identity.devices`.

    - A device that signed in to this account before is judged on its own failures only.
    - Any other is limited per address, per address and account, and per account.
    - Past a limit, only the right password with the account's right second factor signs in;
      everything else waits, and the answer never says which part was wrong.
    - For an account with a second factor, a sign-in without a code is answered "code needed"
      whether or not the password was right, and counted either way.

    An account whose roles need a second factor and has none gets a token that can only enrol
    one (`POST /me/mfa`). Where the trust has turned passwords off for single sign-on, a
    password signs in nobody; it still shows who someone is when they first link their school
    account (`to_link`)."""
    keys = throttle.Keys.of(email, client)
    staff = session.exec(select(Staff).where(Staff.email == email.strip().lower())).first()
    provider = passwords_off(session, staff) if staff is not None and not to_link else None
    if provider is not None:
        # Said before any password is checked: the answer says nothing about the password.
        return SignInRefused(SIGN_IN_WITH.format(name=PROVIDERS.get(provider, provider)))
    trusted = (
        devices.recognise(
            session,
            staff_id=staff.id,
            generation=staff.token_generation,
            token=device,
            settings=settings,
            at=at,
        )
        if staff is not None and staff.id is not None
        else None
    )
    counted: list[tuple[str, int]]
    if trusted is not None:
        device_key = throttle.device_key(trusted.id or 0)
        checks = [(device_key, "Too many failed sign-ins on this device; wait before trying.")]
        counted = [(device_key, settings.signin_free_failures)]
    else:
        checks = [
            (keys.client, "Too many failed sign-ins from this address; wait before trying again."),
            (keys.pair, "Too many failed sign-ins for this account; wait before trying again."),
            (keys.account, "Many failed sign-ins for this account; wait, or add your code."),
        ]
        counted = [
            (keys.pair, settings.signin_free_failures),
            (keys.client, settings.signin_client_free_failures),
            (keys.account, settings.signin_account_free_failures),
        ]
    blocked = _waiting(session, checks, at)
    if blocked is not None and not otp:
        raise blocked  # before hashing, so that no answer says whether the password was right
    valid = passwords.verify(password, staff.password_hash if staff else None)
    usable = staff is not None and staff.is_active and staff.id is not None
    has_factor = usable and mfa.enrolled(session, staff.id)  # type: ignore[union-attr,arg-type]
    if blocked is not None:
        # Others' failures never refuse the owner's password with the owner's code; a password
        # alone (or any code on an account without a factor) waits like everything else.
        if not (valid and has_factor and _code_right(session, staff, otp, settings, at)):
            raise blocked
    else:
        refusal: SignInRefused | SecondFactorNeeded | None = None
        if not usable or (not valid and not has_factor):
            refusal = SignInRefused()
        elif not otp and has_factor:
            refusal = SecondFactorNeeded()
        elif not valid or (has_factor and not _code_right(session, staff, otp, settings, at)):
            refusal = SignInRefused()
        if refusal is not None:
            for key, free in counted:
                throttle.record_failure(session, key, free=free, settings=settings, at=at)
            return refusal
    assert staff is not None
    assert staff.id is not None
    throttle.forget(session, keys.pair)
    if trusted is not None:
        throttle.forget(session, throttle.device_key(trusted.id or 0))
        devices.renew(session, trusted, settings=settings, at=at)
        device_token = device
    else:
        device_token = devices.trust(
            session,
            staff_id=staff.id,
            generation=staff.token_generation,
            settings=settings,
            at=at,
        )
    enrol_only = not has_factor and mfa.required(roles_of(session, staff.id), settings)
    token, lifetime = tokens.issue(
        staff_id=staff.id, generation=staff.token_generation, at=at, enrol_only=enrol_only
    )
    return IssuedToken(
        access_token=token, expires_in=lifetime, enrol_only=enrol_only, device_token=device_token
    )


SIGN_IN_WITH = (
    "Your trust signs in with its school accounts: use \u201cSign in with {name}\u201d on the "
    "sign-in page."
)


def _code_right(
    session: Session, staff: Staff | None, otp: str | None, settings: Settings, at: datetime
) -> bool:
    assert staff is not None
    assert staff.id is not None
    return bool(otp) and mfa.check(
        session, staff_id=staff.id, code=otp or "", settings=settings, at=at
    )


def revoke_tokens(*, session: Session, actor: Principal) -> None:
    """Every token this member of staff holds stops working on its next use."""
    if actor.staff_id is None:
        return
    session.execute(
        update(Staff)
        .where(Staff.id == actor.staff_id)  # type: ignore[arg-type]
        .values(token_generation=Staff.token_generation + 1)
    )


def roles_of(session: Session, staff_id: int) -> frozenset[Role]:
    rows = session.exec(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).all()
    return frozenset(Role(r) for r in rows)


_staff, _school, _role = (
    table_of(Staff).c,
    table_of(School).c,
    table_of(StaffRole).c,
)
# Built once: every request runs it, so it is one query (a row per role) over plain columns.
_PRINCIPAL = (
    sa.select(
        _staff.school_id,
        _staff.is_active,
        _staff.token_generation,
        _staff.is_headteacher,
        _school.trust_id,
        _role.role,
    )
    .select_from(table_of(Staff).join(table_of(School), _school.id == _staff.school_id))
    .outerjoin(table_of(StaffRole), _role.staff_id == _staff.id)
    .where(_staff.id == bindparam("staff_id"))
)


def principal_for(*, session: Session, claims: TokenClaims) -> Principal:
    """The principal a checked token stands for, refusing revoked tokens and inactive accounts."""
    return principal_of(
        session=session,
        staff_id=claims.staff_id,
        generation=claims.generation,
        refusal=INVALID_TOKEN,
    )


def principal_of(*, session: Session, staff_id: int, generation: int, refusal: str) -> Principal:
    """The principal of a sign-in made at `generation` (a token's, a browser session's): refused
    once the account is deactivated or its sign-ins revoked."""
    rows = session.connection().execute(_PRINCIPAL, {"staff_id": staff_id}).all()
    if not rows:
        raise Unauthorized(refusal)
    first = rows[0]
    if not first.is_active or first.token_generation != generation:
        raise Unauthorized(refusal)
    return Principal(
        staff_id=staff_id,
        school_id=first.school_id,
        trust_id=first.trust_id,
        roles=frozenset(Role(r.role) for r in rows if r.role is not None),
        is_headteacher=first.is_headteacher,
    )
