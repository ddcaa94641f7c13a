"""The staff client signing in through the browser: the OAuth 2.0 device authorization grant
(RFC 8628) against contactlog itself. The client asks and shows a short code; the person, signed
in to the pages however their account signs in (password and code today), types it, sees which
client asked and from where, and approves or refuses; the client, polling, gets its token once.
No password is typed into a terminal."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from core import keys, once
from core.directory.models import Staff
from core.errors import Conflict, Forbidden, InvalidInput, TooManyAttempts
from core.identity import devices
from core.identity.auth import IssuedToken
from core.identity.models import DeviceGrant
from core.identity.security import TokenService
from core.principal import Principal
from core.settings import Settings

CLIENT_ID = "contactlog-cli"
LIFETIME = timedelta(minutes=10)
INTERVAL = 5  # seconds between polls; RFC 8628 adds 5 for each poll that comes too soon
# Letters no one misreads or mistypes, and no vowels (no words): 20^8 codes (RFC 8628 §6.1).
LETTERS = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LENGTH = 8
# Sign-ins in progress one address may have at once: enough for a staff room, not a flood.
MOST_FROM_ONE_ADDRESS = 20
NO_SUCH_CODE = "No sign-in is waiting for that code: check it, or start again in the client."


@dataclass(frozen=True)
class Started:
    device_code: str
    user_code: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class NotYet:
    """A poll's refusal, in RFC 8628's words (`error`), with a sentence for a person."""

    error: str
    detail: str


def _hash(settings: Settings, kind: str, value: str) -> str:
    return keys.of(settings).token_hash(f"device grant {kind}", value)


def normal(user_code: str) -> str:
    """A code as typed ("wdjb mjht", "WDJB-MJHT") as it was made."""
    return "".join(ch for ch in user_code.upper() if ch.isalpha())


def shown(user_code: str) -> str:
    return f"{user_code[:4]}-{user_code[4:]}"


def start(
    session: Session,
    *,
    client_id: str,
    client_name: str,
    asked_from: str,
    address: str,
    settings: Settings,
    at: datetime,
) -> Started:
    if client_id != CLIENT_ID:
        raise InvalidInput("client_id: this server knows only the contactlog staff client.")
    address_hash = _hash(settings, "address", address)
    waiting = session.exec(
        select(func.count(col(DeviceGrant.id))).where(
            DeviceGrant.address_hash == address_hash,
            col(DeviceGrant.expires_at) > at,
            col(DeviceGrant.issued_at).is_(None),
        )
    ).one()
    if waiting >= MOST_FROM_ONE_ADDRESS:
        raise TooManyAttempts(
            "Too many sign-ins are waiting from this address: finish one, or wait.",
            retry_after=int(LIFETIME.total_seconds()),
        )
    device_code = secrets.token_urlsafe(32)
    user_code = "".join(secrets.choice(LETTERS) for _ in range(CODE_LENGTH))
    session.add(
        DeviceGrant(
            device_code_hash=_hash(settings, "device", device_code),
            user_code_hash=_hash(settings, "user", user_code),
            client_name=client_name[:100] or "contactlog staff client",
            asked_from=asked_from[:200] or "unknown",
            address_hash=address_hash,
            asked_at=at,
            expires_at=at + LIFETIME,
            interval=INTERVAL,
        )
    )
    return Started(device_code, shown(user_code), int(LIFETIME.total_seconds()), INTERVAL)


def waiting(session: Session, *, user_code: str, settings: Settings, at: datetime) -> DeviceGrant:
    """The sign-in a typed code stands for, while it waits for an answer."""
    code = normal(user_code)
    if len(code) != CODE_LENGTH:
        raise InvalidInput(
            f"user_code: the code is {CODE_LENGTH} letters, as the client shows it.",
            extra={"errors": [{"field": "user_code", "message": "not a code"}]},
        )
    grant = session.exec(
        select(DeviceGrant).where(DeviceGrant.user_code_hash == _hash(settings, "user", code))
    ).first()
    if (
        grant is None
        or grant.expires_at <= at
        or grant.approved_at is not None
        or grant.denied_at is not None
    ):
        raise InvalidInput(
            NO_SUCH_CODE, extra={"errors": [{"field": "user_code", "message": "no such code"}]}
        )
    return grant


def answer(
    session: Session,
    *,
    actor: Principal,
    user_code: str,
    approve: bool,
    settings: Settings,
    at: datetime,
) -> DeviceGrant:
    """The signed-in person approves the client's sign-in as themselves, or refuses it; once."""
    if actor.staff_id is None:
        raise Forbidden("Sign in to the pages as yourself to approve a sign-in.")
    grant = waiting(session, user_code=user_code, settings=settings, at=at)
    staff = session.get(Staff, actor.staff_id)
    assert staff is not None
    values = (
        {"approved_at": at, "staff_id": staff.id, "generation": staff.token_generation}
        if approve
        else {"denied_at": at}
    )
    once.claim(
        session,
        DeviceGrant,
        grant.id,
        still=col(DeviceGrant.approved_at).is_(None) & col(DeviceGrant.denied_at).is_(None),
        values=values,
        too_late="This sign-in has already been answered.",
    )
    session.refresh(grant)
    return grant


def poll(
    session: Session,
    *,
    client_id: str,
    device_code: str,
    tokens: TokenService,
    settings: Settings,
    at: datetime,
) -> IssuedToken | NotYet:
    """The client's poll (RFC 8628 §3.4–3.5): its token once approved, and only once."""
    if client_id != CLIENT_ID:
        return NotYet("invalid_client", "This server knows only the contactlog staff client.")
    grant = session.exec(
        select(DeviceGrant).where(
            DeviceGrant.device_code_hash == _hash(settings, "device", device_code)
        )
    ).first()
    if grant is None or grant.issued_at is not None:
        return NotYet("invalid_grant", "This sign-in is unknown or already used: start again.")
    if grant.denied_at is not None:
        return NotYet("access_denied", "The sign-in was refused in the browser.")
    if grant.expires_at <= at:
        return NotYet("expired_token", "The code expired before the client had its token.")
    if grant.approved_at is None:
        if grant.polled_at is not None and at - grant.polled_at < timedelta(seconds=grant.interval):
            grant.interval += 5
            grant.polled_at = at
            session.add(grant)
            return NotYet("slow_down", f"Poll no more than every {grant.interval} seconds.")
        grant.polled_at = at
        session.add(grant)
        return NotYet("authorization_pending", "Waiting for the sign-in to be approved.")
    staff = session.get(Staff, grant.staff_id or 0)
    if staff is None or not staff.is_active or staff.token_generation != grant.generation:
        return NotYet("access_denied", "The account's sign-ins ended before the client's began.")
    try:
        once.claim(
            session,
            DeviceGrant,
            grant.id,
            still=col(DeviceGrant.issued_at).is_(None),
            values={"issued_at": at},
            too_late="already",
        )
    except Conflict:
        return NotYet("invalid_grant", "This sign-in is unknown or already used: start again.")
    assert staff.id is not None
    device_token = devices.trust(
        session, staff_id=staff.id, generation=staff.token_generation, settings=settings, at=at
    )
    token, lifetime = tokens.issue(staff_id=staff.id, generation=staff.token_generation, at=at)
    return IssuedToken(access_token=token, expires_in=lifetime, device_token=device_token)


def prune(session: Session, *, at: datetime) -> int:
    """Sign-ins that expired or were used a day ago are forgotten."""
    gone = session.execute(
        delete(DeviceGrant).where(col(DeviceGrant.expires_at) < at - timedelta(days=1))
    )
    return int(getattr(gone, "rowcount", 0) or 0)
