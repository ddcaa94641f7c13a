"""Browser sessions for the web pages: a random cookie whose keyed hash is kept (core/keys.py),
bound to the sign-in's generation so that revoking sign-ins or deactivating the account ends it
at once, as it does a token; it lapses after a short idle time, and signing out ends it. Each
holds its form token."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import keys
from core.errors import Unauthorized
from core.identity.auth import principal_of
from core.identity.models import BrowserSession
from core.principal import Principal
from core.settings import Settings

SIGN_IN_AGAIN = "Your session has ended: sign in again."
# The last-seen stamp is written at most this often: a page view is not a write each time.
SEEN_EVERY = timedelta(minutes=1)


def _digest(settings: Settings, token: str) -> str:
    # Keyed with a key outside the database: a row written by hand for someone, with the hash
    # of a cookie of the writer's choosing, matches no cookie at all.
    return keys.of(settings).token_hash("browser session", token)


def start(
    *,
    session: Session,
    staff_id: int,
    generation: int,
    settings: Settings,
    at: datetime,
    enrol_only: bool = False,
) -> str:
    """A new session after a sign-in; the cookie's value, which is stored only keyed."""
    token = secrets.token_urlsafe(32)
    session.add(
        BrowserSession(
            token_hash=_digest(settings, token),
            staff_id=staff_id,
            generation=generation,
            form_token=secrets.token_urlsafe(32),
            enrol_only=enrol_only,
            created_at=at,
            last_seen_at=at,
        )
    )
    return token


@dataclass(frozen=True)
class Signed:
    principal: Principal
    form_token: str
    enrol_only: bool


def resume(*, session: Session, token: str | None, settings: Settings, at: datetime) -> Signed:
    """Who this cookie signs in, if its session is still live; Unauthorized if not."""
    if not token:
        raise Unauthorized("Sign in first.")
    found = session.exec(
        select(BrowserSession).where(BrowserSession.token_hash == _digest(settings, token))
    ).first()
    if (
        found is None
        or found.ended_at is not None
        or at - found.last_seen_at > timedelta(minutes=settings.web_idle_minutes)
        or at - found.created_at > timedelta(hours=settings.web_session_hours)
    ):
        raise Unauthorized(SIGN_IN_AGAIN)
    principal = principal_of(
        session=session, staff_id=found.staff_id, generation=found.generation, refusal=SIGN_IN_AGAIN
    )
    if at - found.last_seen_at >= SEEN_EVERY:
        session.execute(
            update(BrowserSession).where(col(BrowserSession.id) == found.id).values(last_seen_at=at)
        )
    return Signed(principal, found.form_token, found.enrol_only)


def form_token_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def end(*, session: Session, token: str | None, settings: Settings, at: datetime) -> None:
    """Sign out: this session ends now (others, on other devices, go on)."""
    if token:
        session.execute(
            update(BrowserSession)
            .where(
                col(BrowserSession.token_hash) == _digest(settings, token),
                col(BrowserSession.ended_at).is_(None),
            )
            .values(ended_at=at)
        )
