"""Passwords chosen by their owners: invitations, resets, the one-time links behind them, and
what a password must be.

Nobody sets another person's password: an account starts with an emailed invitation, and a
forgotten password is reset by an emailed link. A link is stored only as its SHA-256, works
once, and expires; setting a password ends every other session of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from core import once, outbox
from core.directory.models import School, Staff
from core.errors import InvalidInput, RuleBroken
from core.identity import sso_connections
from core.identity.models import AccountLink
from core.identity.security import Passwords
from core.identity.sso_provider import PROVIDERS
from core.identity.throttle import limit_requests
from core.principal import Principal
from core.record import audit
from core.settings import Settings

MIN_LENGTH, MAX_LENGTH = 12, 128
# zxcvbn's scale: 3 is "safely unguessable" (about 10^8 guesses or more) — NCSC and ASVS V6 ask
# for a check against common and guessable passwords, not for character-class rules.
MIN_SCORE = 3
# Links asked for one account within an hour beyond this are not sent (no answer says so).
RESETS_PER_HOUR = 3
LINK_PATH = "/account/password/"
outbox.one_time_links_at(LINK_PATH)


class LinkPurpose(StrEnum):
    invitation = "invitation"
    reset = "reset"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_problems(password: str, *, name: str = "", email: str = "") -> list[str]:
    """Why a password would be refused (empty when it is fine). Never stripped or truncated."""
    if len(password) < MIN_LENGTH:
        return [f"must be at least {MIN_LENGTH} characters"]
    if len(password) > MAX_LENGTH:
        return [f"must be at most {MAX_LENGTH} characters"]
    own = [p for p in (name, *name.split(), email, email.split("@")[0]) if p]
    # Loaded when a password is chosen, not when the server starts (its dictionaries are large).
    from zxcvbn import zxcvbn

    # Beyond a hundred characters, guessing is not the risk; zxcvbn's cost grows with length.
    verdict = zxcvbn(password[:100], user_inputs=[*own, "contactlog", "school", "password"])
    if verdict["score"] >= MIN_SCORE:
        return []
    feedback = verdict.get("feedback") or {}
    warning = feedback.get("warning") or "it follows a common pattern"
    hints = " ".join(feedback.get("suggestions") or [])
    return [f"is too easy to guess: {warning.rstrip('.')}. {hints}".strip()]


def check_password(password: str, *, staff: Staff) -> None:
    problems = password_problems(password, name=staff.name, email=staff.email)
    if problems:
        raise InvalidInput(
            f"The password is not accepted: it {problems[0]}",
            extra={"errors": [{"field": "password", "message": p} for p in problems]},
        )


def _new_link(
    session: Session, staff: Staff, purpose: LinkPurpose, *, at: datetime, lifetime: timedelta
) -> str:
    assert staff.id is not None
    # Only the newest link of an account works: an older one, perhaps sitting in a forwarded
    # email, is spent.
    session.execute(
        update(AccountLink)
        .where(col(AccountLink.staff_id) == staff.id, col(AccountLink.used_at).is_(None))
        .values(used_at=at)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountLink(
            staff_id=staff.id,
            purpose=purpose,
            token_hash=_digest(token),
            created_at=at,
            expires_at=at + lifetime,
        )
    )
    session.flush()
    return token


def _send_link(
    session: Session,
    staff: Staff,
    token: str,
    purpose: LinkPurpose,
    settings: Settings,
    at: datetime,
) -> None:
    link = f"{settings.public_url}{LINK_PATH}{token}"
    if purpose == LinkPurpose.invitation:
        subject = "Your contactlog account: choose a password"
        opening = (
            "An account has been made for you on contactlog, where your school keeps the record\n"
            "of staff contact with pupils online. Choose your password here"
        )
        school_accounts = _school_accounts(session, staff)
        if school_accounts:
            subject = "Your contactlog account: accept your invitation"
            opening = opening.replace(
                "Choose your password here",
                f"Accept it here with your school's {school_accounts} account",
            )
        hours = settings.invitation_hours
    else:
        subject = "Reset your contactlog password"
        opening = "Someone asked to reset your contactlog password. Choose a new one here"
        hours = settings.reset_link_minutes // 60 or 1
    body = (
        f"{opening} (the link works once, for {hours} hour{'s' if hours != 1 else ''}):\n\n"
        f"  {link}\n\n"
        "If you did not expect this email, ignore it: nothing changes until the link is used.\n"
        "\n-- \ncontactlog, for your school's social-networking protocol\n"
    )
    outbox.enqueue(
        session,
        dedupe_key=f"account-link:{_digest(token)}",
        kind=f"account_{purpose}",
        to_address=staff.email,
        subject=subject,
        body=body,
        school_id=staff.school_id,
        to_staff_id=staff.id,
        at=at,
    )


def _school_accounts(session: Session, staff: Staff) -> str:
    """The providers the staff member's trust signs in with ("Google or Microsoft"), if any."""
    school = session.get(School, staff.school_id)
    if school is None:
        return ""
    ways = sso_connections.offered(session, trust_id=school.trust_id)
    return " or ".join(PROVIDERS[way.provider] for way in ways)


def invite(
    session: Session, *, actor: Principal, staff: Staff, settings: Settings, at: datetime
) -> None:
    """Email a new account the link to choose its own password."""
    token = _new_link(
        session,
        staff,
        LinkPurpose.invitation,
        at=at,
        lifetime=timedelta(hours=settings.invitation_hours),
    )
    _send_link(session, staff, token, LinkPurpose.invitation, settings, at)
    audit.record(
        session,
        actor=actor,
        at=at,
        action="staff.invited",
        object_type="staff",
        object_id=staff.id,
        school_id=staff.school_id,
    )


def request_reset(
    session: Session, *, email: str, client: str, settings: Settings, at: datetime
) -> None:
    """Email a reset link if the address is an active account's; the caller answers the same
    (202) whatever happens here, so nobody learns which addresses have accounts. Every request
    from the client's address counts against its limit, answered or not (429 past it)."""
    limit_requests(session, "password-reset", client, settings=settings, at=at)
    staff = session.exec(select(Staff).where(Staff.email == email.strip().lower())).first()
    if staff is None or not staff.is_active:
        return
    recent = session.exec(
        select(func.count()).where(
            AccountLink.staff_id == staff.id,
            AccountLink.purpose == LinkPurpose.reset,
            col(AccountLink.created_at) > at - timedelta(hours=1),
        )
    ).one()
    if recent >= RESETS_PER_HOUR:
        return
    token = _new_link(
        session,
        staff,
        LinkPurpose.reset,
        at=at,
        lifetime=timedelta(minutes=settings.reset_link_minutes),
    )
    _send_link(session, staff, token, LinkPurpose.reset, settings, at)


LINK_DOES_NOT_WORK = (
    "This link does not work: it may have expired or been used already. Ask for a new one "
    "(POST /auth/password-reset)."
)


def open_link(session: Session, *, token: str, at: datetime) -> tuple[AccountLink, Staff]:
    """The emailed link a token opens, unused and in time, and its active account."""
    link = session.exec(select(AccountLink).where(AccountLink.token_hash == _digest(token))).first()
    if link is None or link.used_at is not None or link.expires_at <= at:
        raise RuleBroken(LINK_DOES_NOT_WORK)
    staff = session.get(Staff, link.staff_id)
    if staff is None or not staff.is_active:
        raise RuleBroken("This account is not active.")
    return link, staff


def spend_link(session: Session, link: AccountLink, *, at: datetime) -> None:
    """A link works once: of two uses at once, one is refused."""
    once.claim(
        session,
        AccountLink,
        link.id,
        still=col(AccountLink.used_at).is_(None),
        values={"used_at": at},
        too_late="This link has just been used.",
    )


def set_password(
    session: Session, *, token: str, password: str, passwords: Passwords, at: datetime
) -> Staff:
    """The owner of a link chooses their password; every other session of theirs ends."""
    link, staff = open_link(session, token=token, at=at)
    check_password(password, staff=staff)
    spend_link(session, link, at=at)
    staff.password_hash = passwords.hash(password)
    staff.token_generation += 1
    session.add(staff)
    session.flush()
    owner = Principal(staff_id=staff.id, school_id=staff.school_id, trust_id=None)
    audit.record(
        session,
        actor=owner,
        at=at,
        action="staff.password_set",
        object_type="staff",
        object_id=staff.id,
        school_id=staff.school_id,
        details={"by": link.purpose},
    )
    return staff
