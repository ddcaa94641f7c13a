"""Trusted devices: a browser or staff client that has signed in to an account before.

Lockouts exist to stop guessing, but a school's pupils share its public address, and anyone may
know the DSL's email: counting their failures against her must not keep her out. The answer
OWASP describes ("device cookies"): each successful sign-in leaves the device a random token
(a cookie for the pages, a device token for the staff client); a sign-in that brings a token of
that account is judged on that device's own failures only, so others' tries from the same
address, or against the same account, never lock it out. Tokens are stored keyed with a key
outside the database (core/keys.py), expire, and end with the account's other sign-ins.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from core import keys
from core.identity.models import TrustedDevice
from core.settings import Settings

COOKIE = "contactlog_device"


def _hash(settings: Settings, token: str) -> str:
    return keys.of(settings).token_hash("trusted device", token)


def recognise(
    session: Session,
    *,
    staff_id: int,
    generation: int,
    token: str | None,
    settings: Settings,
    at: datetime,
) -> TrustedDevice | None:
    """The account's trusted device this token stands for, if it is one and still current."""
    if not token or len(token) > 100:
        return None
    found = session.exec(
        select(TrustedDevice).where(TrustedDevice.token_hash == _hash(settings, token))
    ).first()
    if (
        found is None
        or found.staff_id != staff_id
        or found.generation != generation
        or found.expires_at <= at
    ):
        return None
    return found


def trust(
    session: Session, *, staff_id: int, generation: int, settings: Settings, at: datetime
) -> str:
    """A new token for the device that has just signed in; stored only keyed."""
    token = secrets.token_urlsafe(32)
    session.add(
        TrustedDevice(
            staff_id=staff_id,
            token_hash=_hash(settings, token),
            generation=generation,
            created_at=at,
            expires_at=at + timedelta(days=settings.trusted_device_days),
        )
    )
    return token


def renew(session: Session, device: TrustedDevice, *, settings: Settings, at: datetime) -> None:
    """A device in use stays trusted for the whole period from its latest sign-in."""
    session.execute(
        update(TrustedDevice)
        .where(col(TrustedDevice.id) == device.id)
        .values(expires_at=at + timedelta(days=settings.trusted_device_days))
    )


def prune(session: Session, *, at: datetime) -> int:
    gone = session.execute(delete(TrustedDevice).where(col(TrustedDevice.expires_at) <= at))
    return int(gone.rowcount)  # type: ignore[attr-defined]
