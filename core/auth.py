"""Who is acting: sign-in with throttling, token revocation, the principal behind a token."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from core.clock import now
from core.db import UTCDateTime, table_of
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


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per account, in the database so every API process sees one count."""

    __tablename__ = "signin_throttle"

    # A hash of the normalised email: the throttle needs to recognise an account, not to read it.
    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: datetime = Field(sa_type=UTCDateTime)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True)
class SignInRefused:
    detail: str = "The email or password is incorrect."


def _throttle_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _check_throttle(session: Session, key: str) -> None:
    row = session.get(SignInThrottle, key)
    if row is None or row.blocked_until is None:
        return
    wait = (row.blocked_until - now()).total_seconds()
    if wait > 0:
        raise TooManyAttempts(
            "Too many failed sign-ins for this account; wait before trying again.",
            retry_after=max(1, int(wait + 0.999)),
        )


def _record_failure(session: Session, key: str, settings: Settings) -> None:
    at = now()
    bumped = session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == key)  # type: ignore[arg-type]
        .values(failures=SignInThrottle.failures + 1, last_failure_at=at)
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(SignInThrottle(key=key, failures=1, last_failure_at=at))
        except IntegrityError:  # another process inserted it first: count on its row
            session.execute(
                update(SignInThrottle)
                .where(SignInThrottle.key == key)  # type: ignore[arg-type]
                .values(failures=SignInThrottle.failures + 1, last_failure_at=at)
            )
    row = session.get(SignInThrottle, key, populate_existing=True)
    assert row is not None
    over = row.failures - settings.signin_free_failures
    if over >= 0:
        delay = min(settings.signin_base_delay_seconds * 2**over, settings.signin_max_delay_seconds)
        row.blocked_until = at + timedelta(seconds=delay)
        session.add(row)


def sign_in(
    *,
    session: Session,
    email: str,
    password: str,
    passwords: Passwords,
    tokens: TokenService,
    settings: Settings,
) -> IssuedToken | SignInRefused:
    """Check an email and password; a refusal is returned, not raised, so its count is kept."""
    key = _throttle_key(email)
    _check_throttle(session, key)
    staff = session.exec(select(Staff).where(Staff.email == email.strip().lower())).first()
    valid = passwords.verify(password, staff.password_hash if staff else None)
    if staff is None or not valid or not staff.is_active:
        _record_failure(session, key, settings)
        return SignInRefused()
    throttle = session.get(SignInThrottle, key)
    if throttle is not None:
        session.delete(throttle)
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
