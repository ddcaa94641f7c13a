"""Sign-in limits that cannot be turned against an account's owner.

Failures are counted three ways, each in a window that starts again after a quiet spell:
- one client address trying one account: past a few failures that pair waits, doubling;
- one client address trying any accounts (a spray from one place): past many, it waits;
- one account from anywhere: past many, a password alone is not enough until it clears, but a
  password with the account's second factor still signs in.
So nobody locks the DSL out by knowing her email: a device she signed in from before is judged on
its own failures only (core/identity/devices.py), and her password with her second factor gets
her in whatever others have tried. Counts live in the database, shared by every API process, keyed
by hashes (a throttle needs to recognise an account or an address, never to read it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core.errors import TooManyAttempts
from core.identity.models import SignInThrottle
from core.settings import Settings


def _hashed(kind: str, *parts: str) -> str:
    return hashlib.sha256("\x1f".join((kind, *parts)).encode()).hexdigest()


@dataclass(frozen=True)
class Keys:
    pair: str
    client: str
    account: str

    @classmethod
    def of(cls, email: str, client: str) -> Keys:
        account = email.strip().lower()
        return cls(
            pair=_hashed("pair", account, client),
            client=_hashed("client", client),
            account=_hashed("account", account),
        )


def device_key(device_id: int) -> str:
    """Failures on one trusted device (core/identity/devices.py), limited by its count alone."""
    return _hashed("device", str(device_id))


def wait_seconds(session: Session, key: str, at: datetime) -> int:
    """How long this key must still wait (0: not blocked)."""
    row = session.get(SignInThrottle, key)
    if row is None or row.blocked_until is None:
        return 0
    wait = (row.blocked_until - at).total_seconds()
    return max(1, int(wait + 0.999)) if wait > 0 else 0


def record_failure(
    session: Session, key: str, *, free: int, settings: Settings, at: datetime
) -> None:
    """Count one failure; past `free` in the window, the key waits (doubling, capped)."""
    window_start = at - timedelta(minutes=settings.signin_window_minutes)
    # A quiet spell longer than the window starts the count again: a school's shared address
    # is not blocked today for mistakes made last week.
    counted = case(
        (col(SignInThrottle.last_failure_at) < window_start, 1),
        else_=SignInThrottle.failures + 1,
    )
    bump = (
        update(SignInThrottle)
        .where(col(SignInThrottle.key) == key)
        .values(failures=counted, last_failure_at=at)
    )
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(SignInThrottle(key=key, failures=1, last_failure_at=at))
        except IntegrityError:  # another process inserted it first: count on its row
            session.execute(bump)
    row = session.get(SignInThrottle, key, populate_existing=True)
    assert row is not None
    over = row.failures - free
    if over >= 0:
        delay = min(settings.signin_base_delay_seconds * 2**over, settings.signin_max_delay_seconds)
        row.blocked_until = at + timedelta(seconds=delay)
        session.add(row)


def limit_requests(
    session: Session, what: str, client: str, *, settings: Settings, at: datetime
) -> None:
    """Every request counts (a reset link, say): past the client allowance in the window, 429."""
    key = _hashed(what, client)
    wait = wait_seconds(session, key, at)
    if wait:
        raise TooManyAttempts("Too many requests from this address; wait.", retry_after=wait)
    record_failure(
        session, key, free=settings.signin_client_free_failures, settings=settings, at=at
    )


def forget(session: Session, key: str) -> None:
    session.execute(delete(SignInThrottle).where(col(SignInThrottle.key) == key))


def prune(session: Session, *, at: datetime, settings: Settings) -> int:
    """Rows whose window has passed and that block nothing any more are deleted."""
    window_start = at - timedelta(minutes=settings.signin_window_minutes)
    gone = session.execute(
        delete(SignInThrottle).where(
            col(SignInThrottle.last_failure_at) < window_start,
            or_(
                col(SignInThrottle.blocked_until).is_(None),
                col(SignInThrottle.blocked_until) < at,
            ),
        )
    )
    return int(gone.rowcount)  # type: ignore[attr-defined]
