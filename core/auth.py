"""Who is acting: sign-in with throttling, token revocation, the principal behind a token."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from core import throttle
from core.clock import now
from core.db import table_of
from core.directory.models import TRUST_ROLES, Role, School, Staff, StaffRole
from core.errors import TooManyAttempts, Unauthorized
from core.security import Passwords, TokenClaims, TokenService
from core.settings import Settings

INVALID_TOKEN = "The access token is invalid, expired or revoked."


@dataclass(frozen=True)
class Principal:
    """The signed-in member of staff (or the operator at the command line) a service acts for."""

    staff_id: int | None
    school_id: int | None
    trust_id: int | None
    roles: frozenset[Role] = field(default_factory=frozenset)
    is_headteacher: bool = False
    operator: bool = False

    @classmethod
    def command_line(cls) -> Principal:
        """The operator running `contactlog` on the server: trust administration, no account."""
        return cls(staff_id=None, school_id=None, trust_id=None, roles=frozenset(), operator=True)

    def has(self, role: Role) -> bool:
        return role in self.roles

    def acts_as(self, role: Role, *, school_id: int, trust_id: int) -> bool:
        """Whether this principal holds `role` for the school (trust roles count trust-wide)."""
        if self.operator:
            return role in (Role.admin, Role.dsl, Role.trust_admin, Role.trust_dsl)
        if trust_id != self.trust_id:
            return False
        if role in (Role.admin, Role.trust_admin) and Role.trust_admin in self.roles:
            return True
        if role in (Role.dsl, Role.trust_dsl) and Role.trust_dsl in self.roles:
            return True
        return role in self.roles and school_id == self.school_id and role not in TRUST_ROLES

    def sees_school(self, *, school_id: int, trust_id: int) -> bool:
        """Schools whose directory this principal may look into at all."""
        if self.operator:
            return True
        if trust_id != self.trust_id:
            return False
        return school_id == self.school_id or bool(self.roles & TRUST_ROLES)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True)
class SignInRefused:
    detail: str = "The email or password is incorrect."


def sign_in(
    *,
    session: Session,
    email: str,
    password: str,
    client: str,
    passwords: Passwords,
    tokens: TokenService,
    settings: Settings,
) -> IssuedToken | SignInRefused:
    """Check an email and password from one client address; a refusal is returned, not raised,
    so that its count is kept. See `core.throttle` for the limits."""
    at = now()
    keys = throttle.Keys.of(email, client)
    for key, detail in (
        (keys.client, "Too many failed sign-ins from this address; wait before trying again."),
        (keys.pair, "Too many failed sign-ins for this account; wait before trying again."),
        # Others' failures never lock the owner out of signing in with a second factor; with
        # a password alone, the account waits (checked before hashing: no answer says
        # whether the password was right).
        (keys.account, "Many failed sign-ins for this account; wait before trying again."),
    ):
        wait = throttle.wait_seconds(session, key, at)
        if wait:
            raise TooManyAttempts(detail, retry_after=wait)
    staff = session.exec(select(Staff).where(Staff.email == email.strip().lower())).first()
    valid = passwords.verify(password, staff.password_hash if staff else None)
    if staff is None or not valid or not staff.is_active:
        for key, free in (
            (keys.pair, settings.signin_free_failures),
            (keys.client, settings.signin_client_free_failures),
            (keys.account, settings.signin_account_free_failures),
        ):
            throttle.record_failure(session, key, free=free, settings=settings, at=at)
        return SignInRefused()
    throttle.forget(session, keys.pair)
    assert staff.id is not None
    token, lifetime = tokens.issue(staff_id=staff.id, generation=staff.token_generation)
    return IssuedToken(access_token=token, expires_in=lifetime)


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
    rows = session.connection().execute(_PRINCIPAL, {"staff_id": claims.staff_id}).all()
    if not rows:
        raise Unauthorized(INVALID_TOKEN)
    first = rows[0]
    if not first.is_active or first.token_generation != claims.generation:
        raise Unauthorized(INVALID_TOKEN)
    return Principal(
        staff_id=claims.staff_id,
        school_id=first.school_id,
        trust_id=first.trust_id,
        roles=frozenset(Role(r.role) for r in rows if r.role is not None),
        is_headteacher=first.is_headteacher,
    )
