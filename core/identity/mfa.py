"""The second factor: TOTP (RFC 6238) codes from an authenticator app, and recovery codes.

Required for the roles that reach personal data or decide for others (a setting; DfE's cyber
security standards ask for it). A code works once: the step it belongs to is remembered, so a
code seen over someone's shoulder cannot be replayed within its window. Recovery codes are
stored hashed and each works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pyotp
import segno
from sqlalchemy import delete
from sqlmodel import Session, col, select

from core import keys, once
from core.directory.models import Role, Staff
from core.errors import Conflict, RuleBroken
from core.identity.models import Passkey, RecoveryCode, SecondFactor
from core.record import audit
from core.settings import Settings

if TYPE_CHECKING:
    from core.principal import Principal

STEP_SECONDS = 30
RECOVERY_CODES = 10


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def required(roles: frozenset[Role], settings: Settings) -> bool:
    return any(role.value in settings.mfa_required_roles for role in roles)


def enrolled(session: Session, staff_id: int) -> bool:
    """A confirmed authenticator app, or a passkey (core/identity/passkeys.py)."""
    factor = session.get(SecondFactor, staff_id)
    if factor is not None and factor.confirmed_at is not None:
        return True
    return session.exec(select(Passkey.id).where(Passkey.staff_id == staff_id)).first() is not None


def _sealed(settings: Settings, staff_id: int, secret: str) -> str:
    return keys.of(settings).encrypt(secret, bound_to=f"second_factor:{staff_id}")


def _secret(settings: Settings, factor: SecondFactor) -> str | None:
    """The plain secret, or None when no key of this deployment opens it (a row written or
    copied by hand): that factor accepts no code."""
    try:
        return keys.of(settings).decrypt(factor.secret, bound_to=f"second_factor:{factor.staff_id}")
    except keys.SecretUnreadable:
        return None


def begin(session: Session, *, staff: Staff, settings: Settings, at: datetime) -> Enrolment:
    """A new secret to add to an authenticator app; it counts once a first code confirms it."""
    assert staff.id is not None
    factor = session.get(SecondFactor, staff.id)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict(
            "A second factor is already set up; to replace it, ask an admin to reset it."
        )
    secret = pyotp.random_base32()
    stored = _sealed(settings, staff.id, secret)
    if factor is None:
        session.add(SecondFactor(staff_id=staff.id, secret=stored, created_at=at))
    else:
        factor.secret, factor.created_at, factor.last_step = stored, at, 0
        session.add(factor)
    session.flush()
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=staff.email, issuer_name=settings.mfa_issuer
    )
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="Scan with your authenticator app")
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=svg)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def confirm(
    session: Session, *, actor: Principal, staff: Staff, code: str, settings: Settings, at: datetime
) -> list[str]:
    """The first code proves the app holds the secret; the answer is the recovery codes, shown
    this once (only their hashes are kept)."""
    assert staff.id is not None
    factor = session.get(SecondFactor, staff.id)
    if factor is None:
        raise RuleBroken("Start with POST /me/mfa to get a secret for your authenticator app.")
    if factor.confirmed_at is not None:
        raise Conflict("The second factor is already confirmed.")
    if not _accept_totp(session, factor, code, settings, at):
        raise RuleBroken("That code is not right; check the time on your phone and try again.")
    factor.confirmed_at = at
    session.add(factor)
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.staff_id) == staff.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    for plain in codes:
        session.add(RecoveryCode(staff_id=staff.id, code_hash=_digest(_normal(plain))))
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="staff.second_factor_enrolled",
        object_type="staff",
        object_id=staff.id,
        school_id=staff.school_id,
    )
    return codes


def _accept_totp(
    session: Session, factor: SecondFactor, code: str, settings: Settings, at: datetime
) -> bool:
    digits = code.strip().replace(" ", "")
    secret = _secret(settings, factor)
    if secret is None or not (digits.isdigit() and len(digits) == 6):
        return False
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(at.timestamp()) // STEP_SECONDS
    # One step either side for a phone's clock that drifts a little.
    for step in (now_step - 1, now_step, now_step + 1):
        expected = totp.at(step * STEP_SECONDS)
        if hmac.compare_digest(expected, digits):
            if step <= factor.last_step:
                return False  # this code (or a later one) was used already
            # Claimed like any once-only change: two sign-ins with one code, one wins.
            return once.took(
                session,
                SecondFactor,
                factor.staff_id,
                still=col(SecondFactor.last_step) < step,
                values={"last_step": step},
            )
    return False


def check(session: Session, *, staff_id: int, code: str, settings: Settings, at: datetime) -> bool:
    """A current code from the app, or an unused recovery code."""
    factor = session.get(SecondFactor, staff_id)
    if factor is None or factor.confirmed_at is None:
        return False
    if _accept_totp(session, factor, code, settings, at):
        return True
    hashed = _digest(_normal(code))
    found = session.exec(
        select(RecoveryCode).where(
            RecoveryCode.staff_id == staff_id,
            RecoveryCode.code_hash == hashed,
            col(RecoveryCode.used_at).is_(None),
        )
    ).first()
    if found is None:
        return False
    try:
        once.claim(
            session,
            RecoveryCode,
            found.id,
            still=col(RecoveryCode.used_at).is_(None),
            values={"used_at": at},
            too_late="used",
        )
    except Conflict:
        return False
    return True


def remove(session: Session, staff: Staff) -> None:
    """The second factor, its recovery codes and every passkey go; the person enrols again at
    next sign-in."""
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.staff_id) == staff.id))
    session.execute(delete(Passkey).where(col(Passkey.staff_id) == staff.id))
    session.execute(delete(SecondFactor).where(col(SecondFactor.staff_id) == staff.id))


def seed(session: Session, *, staff: Staff, secret: str, settings: Settings, at: datetime) -> None:
    """The demo's accounts: a known secret, already confirmed, so a newcomer can sign in."""
    assert staff.id is not None
    stored = _sealed(settings, staff.id, secret)
    session.add(SecondFactor(staff_id=staff.id, secret=stored, created_at=at, confirmed_at=at))
    session.flush()


def rotate(session: Session, *, settings: Settings) -> int:
    """Every secret not under the current key is encrypted anew under it (after a new key is
    put in place, with the old one still in OLD_SECRET_KEYS); the count of those changed.
    A secret no key opens is left as it is: it accepts no code, and its owner re-enrols."""
    changed = 0
    for factor in session.exec(select(SecondFactor)).all():
        if keys.of(settings).is_current(factor.secret):
            continue
        plain = _secret(settings, factor)
        if plain is None:
            continue
        factor.secret = _sealed(settings, factor.staff_id, plain)
        session.add(factor)
        changed += 1
    return changed


# ---------------------------------------------------------------- the signed-in person's own


def _own_account(session: Session, actor: Principal) -> Staff:
    staff = session.get(Staff, actor.staff_id) if actor.staff_id is not None else None
    if staff is None:
        raise RuleBroken("A second factor belongs to a staff account; sign in as one.")
    return staff


def start_enrolment(
    *, session: Session, actor: Principal, settings: Settings, at: datetime
) -> Enrolment:
    """My new secret, for my authenticator app."""
    return begin(session, staff=_own_account(session, actor), settings=settings, at=at)


def confirm_enrolment(
    *, session: Session, actor: Principal, settings: Settings, at: datetime, code: str
) -> list[str]:
    """My first code turns my second factor on; the answer is my recovery codes."""
    staff = _own_account(session, actor)
    return confirm(session, actor=actor, staff=staff, code=code, settings=settings, at=at)
