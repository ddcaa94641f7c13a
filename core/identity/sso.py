"""Single sign-on for a trust's staff: a sign-in begun and bound to the browser that began it,
the provider's answer taken once, the account found by the link made once (the first time by
an address the provider vouches for in the trust's tenant, confirmed by the person), the second
factor still shown to contactlog, and never an account made or a role given."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import keys
from core.directory.models import School, Staff
from core.errors import Conflict, NotFound, RuleBroken, TooManyAttempts, Unauthorized
from core.identity import accounts, mfa, sso_connections, sso_provider, throttle
from core.identity.auth import principal_of, roles_of
from core.identity.models import AccountLink, SsoAttempt, SsoConnection, SsoLink
from core.record import audit
from core.settings import Settings

ATTEMPT_LIFETIME = timedelta(minutes=10)
# Sign-ins begun and not finished from one address (a school's staff may share one): past
# this many, the next waits until some finish or expire.
MOST_FROM_ONE_ADDRESS = 300
START_AGAIN = "This sign-in has expired or was used already. Start again from the sign-in page."
NO_ACCOUNT = (
    "No contactlog account is linked to this {name} account. If you work at one of the trust's "
    "schools, ask its admin for an invitation."
)
SWITCHED_OFF = "This contactlog account is switched off. Ask your school's admin."
WRONG_CODE = "The code is incorrect."
LINKED_ELSEWHERE = (
    "Your contactlog account is linked to another {name} account already. Unlink it under "
    "Passkeys (signed in as you do now), or ask your school's admin to, first."
)


def _connection(row: SsoConnection) -> sso_provider.Connection:
    return sso_provider.Connection(
        provider=row.provider,
        tenant=row.tenant,
        client_id=row.client_id,
        secret_file=row.secret_file,
    )


def _hash(settings: Settings, kind: str, value: str) -> str:
    return keys.of(settings).token_hash(kind, value)


def _derived(settings: Settings, browser: str, what: str) -> str:
    """The PKCE verifier and the nonce of a sign-in: derived from the secret only its browser
    holds, so that a reader of the database cannot finish a sign-in with an intercepted code."""
    return _hash(settings, f"sso {what}", browser)


def _subject(connection_id: int, subject: str) -> str:
    return f"{connection_id}:{subject}"


def subject_hash(settings: Settings, connection_id: int, subject: str) -> str:
    return _hash(settings, "sso subject", _subject(connection_id, subject))


def _linked(
    session: Session, settings: Settings, connection_id: int, subject: str
) -> SsoLink | None:
    """The link of a provider's subject, found under the current key or one still read after
    a rotation of SECRET_KEY (then stored again under the current key, as it can be only now,
    with the subject in hand)."""
    hashes = keys.of(settings).token_hashes("sso subject", _subject(connection_id, subject))
    found = session.exec(select(SsoLink).where(col(SsoLink.subject_hash).in_(hashes))).first()
    if found is not None and found.subject_hash != hashes[0]:
        found.subject_hash = hashes[0]
        session.add(found)
    return found


@dataclass(frozen=True)
class Begun:
    url: str  # the provider's sign-in page
    browser: str  # the cookie that binds the sign-in to this browser


def begin(
    *,
    session: Session,
    provider: str,
    trust_id: int,
    then: str,
    redirect_uri: str,
    address: str,
    settings: Settings,
    at: datetime,
    invitation: str | None = None,
) -> Begun:
    """A sign-in through the trust's provider; with `invitation` (the emailed link's token),
    the invited person accepting through it instead of choosing a password."""
    row = sso_connections.connection_of(session, provider=provider, trust_id=trust_id)
    invited = _invited(session, invitation, row, at) if invitation is not None else None
    address_hash = _hash(settings, "sso address", address)
    waiting = session.exec(
        select(func.count(col(SsoAttempt.id))).where(
            SsoAttempt.address_hash == address_hash, col(SsoAttempt.expires_at) > at
        )
    ).one()
    if waiting >= MOST_FROM_ONE_ADDRESS:
        raise TooManyAttempts(
            "Too many sign-ins are under way from this address: wait a few minutes.",
            retry_after=int(ATTEMPT_LIFETIME.total_seconds()),
        )
    browser, state = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    url = sso_provider.authorization_url(
        _connection(row),
        settings,
        redirect_uri=redirect_uri,
        state=state,
        nonce=_derived(settings, browser, "nonce"),
        code_verifier=_derived(settings, browser, "verifier"),
    )
    session.add(
        SsoAttempt(
            state_hash=_hash(settings, "sso state", state),
            browser_hash=_hash(settings, "sso browser", browser),
            address_hash=address_hash,
            connection_id=row.id or 0,
            staff_id=invited.staff_id if invited else None,
            invitation_id=invited.id if invited else None,
            next=then,
            expires_at=at + ATTEMPT_LIFETIME,
        )
    )
    return Begun(url=url, browser=browser)


def _invited(session: Session, token: str, row: SsoConnection, at: datetime) -> AccountLink:
    link, staff = accounts.open_link(session, token=token, at=at)
    school = session.get(School, staff.school_id)
    if link.purpose != accounts.LinkPurpose.invitation or school is None:
        raise RuleBroken(accounts.LINK_DOES_NOT_WORK)
    if school.trust_id != row.trust_id:
        raise NotFound(f"Your trust does not sign in with {sso_provider.PROVIDERS[row.provider]}.")
    return link


@dataclass(frozen=True)
class Answered:
    """What follows the provider's answer: `signed_in` (a session may start; `enrol_only` if
    the account must set up a second factor first), `link` (a first link to confirm) or
    `code` (the account's second factor to give)."""

    stage: str
    staff: Staff
    then: str
    enrol_only: bool = False


def _claim(session: Session, attempt: SsoAttempt, *, was: str, now: str) -> None:
    """Moves a sign-in on one stage, once: of two uses of one answer at once, one is refused."""
    moved = session.execute(
        update(SsoAttempt)
        .where(col(SsoAttempt.id) == attempt.id, col(SsoAttempt.stage) == was)
        .values(stage=now)
    )
    if getattr(moved, "rowcount", 0) != 1:
        raise Unauthorized(START_AGAIN)
    attempt.stage = now


def answer(
    *,
    session: Session,
    provider: str,
    state: str,
    code: str,
    issuer: str | None,
    browser: str | None,
    redirect_uri: str,
    settings: Settings,
    at: datetime,
) -> Answered:
    """The provider's answer, taken once and only in the browser that began the sign-in (a
    `state` replayed, or brought to another browser, is refused), its ID token checked, and its
    account found."""
    attempt = session.exec(
        select(SsoAttempt).where(SsoAttempt.state_hash == _hash(settings, "sso state", state))
    ).first()
    if (
        attempt is None
        or not browser
        or attempt.browser_hash != _hash(settings, "sso browser", browser)
        or attempt.expires_at <= at
    ):
        raise Unauthorized(START_AGAIN)
    row = session.get(SsoConnection, attempt.connection_id)
    if row is None or row.provider != provider or row.id is None:
        raise Unauthorized(START_AGAIN)
    _claim(session, attempt, was="provider", now="answered")
    connection = _connection(row)
    sso_provider.check_answer_issuer(connection, settings, issuer)
    identity = sso_provider.exchange(
        connection,
        settings,
        redirect_uri=redirect_uri,
        code=code,
        code_verifier=_derived(settings, browser, "verifier"),
        nonce=_derived(settings, browser, "nonce"),
        at=at,
    )
    subject = subject_hash(settings, row.id, identity.subject)
    link = _linked(session, settings, row.id, identity.subject)
    if attempt.invitation_id is not None:
        return _accept_invitation(session, attempt, row, identity, link, subject, settings, at)
    if link is not None:
        staff = _usable(session, link.staff_id)
        return _after_provider(session, attempt, staff, settings, at)
    candidate = _to_link(session, row, identity)
    if candidate is None:
        raise Unauthorized(NO_ACCOUNT.format(name=connection.name))
    staff = _usable(session, candidate.id or 0)
    if session.exec(
        select(SsoLink.id).where(SsoLink.connection_id == row.id, SsoLink.staff_id == staff.id)
    ).first():
        raise Unauthorized(LINKED_ELSEWHERE.format(name=connection.name))
    attempt.staff_id, attempt.subject_hash, attempt.email = staff.id, subject, identity.email
    attempt.stage, attempt.expires_at = "link", at + ATTEMPT_LIFETIME
    session.add(attempt)
    return Answered(stage="link", staff=staff, then=attempt.next)


def provider_name(session: Session, attempt: SsoAttempt) -> str:
    row = session.get(SsoConnection, attempt.connection_id)
    return sso_provider.PROVIDERS.get(row.provider if row else "", "your school")


def _usable(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.is_active or staff.id is None:
        raise Unauthorized(SWITCHED_OFF)
    return staff


def _to_link(session: Session, row: SsoConnection, identity: sso_provider.Identity) -> Staff | None:
    """The account a first link may join: the trust's own account with the address the
    provider vouches for, on one of the trust's domains. Never an account of another trust."""
    email = identity.email
    if email is None:
        return None
    domains = {d.strip().lower() for d in row.domains.split(",") if d.strip()}
    if email.rsplit("@", 1)[1] not in domains:
        return None
    return session.exec(
        select(Staff)
        .join(School, col(School.id) == Staff.school_id)
        .where(Staff.email == email, School.trust_id == row.trust_id)
    ).first()


def _after_provider(
    session: Session, attempt: SsoAttempt, staff: Staff, settings: Settings, at: datetime
) -> Answered:
    """Signed in, unless the account has a second factor: contactlog asks for it itself (an
    Entra ID token does not say whether the person used one)."""
    assert staff.id is not None
    if mfa.enrolled(session, staff.id):
        attempt.staff_id, attempt.stage = staff.id, "code"
        attempt.expires_at = at + ATTEMPT_LIFETIME
        session.add(attempt)
        return Answered(stage="code", staff=staff, then=attempt.next)
    session.execute(delete(SsoAttempt).where(col(SsoAttempt.id) == attempt.id))
    return Answered(
        stage="signed_in",
        staff=staff,
        then=attempt.next,
        enrol_only=mfa.required(roles_of(session, staff.id), settings),
    )


def waiting(
    *, session: Session, browser: str | None, stage: str, settings: Settings, at: datetime
) -> SsoAttempt:
    """The browser's sign-in that waits at `stage` (a first link, or the second factor)."""
    attempt = (
        session.exec(
            select(SsoAttempt).where(
                SsoAttempt.browser_hash == _hash(settings, "sso browser", browser),
                SsoAttempt.stage == stage,
            )
        ).first()
        if browser
        else None
    )
    if attempt is None or attempt.expires_at <= at or attempt.staff_id is None:
        raise Unauthorized(START_AGAIN)
    return attempt


def link(*, session: Session, attempt: SsoAttempt, settings: Settings, at: datetime) -> SsoLink:
    """The first link, once the person has shown their contactlog sign-in (the page checks it
    through `auth.sign_in`): from now on the provider's subject finds the account, never the
    address. In the change record."""
    staff = _usable(session, attempt.staff_id or 0)
    _claim(session, attempt, was="link", now="linked")
    made = _make_link(session, attempt, staff, attempt.email or staff.email, at, by="sign-in")
    session.execute(delete(SsoAttempt).where(col(SsoAttempt.id) == attempt.id))
    return made


NOT_THE_INVITED = (
    "That {name} account is not the one invited: sign in to {name} as {email}, or ask your "
    "school's admin."
)


def _accept_invitation(
    session: Session,
    attempt: SsoAttempt,
    row: SsoConnection,
    identity: sso_provider.Identity,
    linked: SsoLink | None,
    subject: str,
    settings: Settings,
    at: datetime,
) -> Answered:
    """The invited person, through the provider: its vouched address must be the invited one.
    The invitation is used up, the link made, and no password is ever chosen."""
    name = sso_provider.PROVIDERS[row.provider]
    staff = _usable(session, attempt.staff_id or 0)
    invitation = session.get(AccountLink, attempt.invitation_id)
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= at:
        raise Unauthorized(accounts.LINK_DOES_NOT_WORK)
    if identity.email != staff.email.lower():
        raise Unauthorized(NOT_THE_INVITED.format(name=name, email=staff.email))
    if linked is not None:
        raise Unauthorized(f"That {name} account is linked to another contactlog account.")
    accounts.spend_link(session, invitation, at=at)
    attempt.subject_hash = subject
    _make_link(session, attempt, staff, staff.email, at, by="invitation")
    return _after_provider(session, attempt, staff, settings, at)


def _make_link(
    session: Session, attempt: SsoAttempt, staff: Staff, email: str, at: datetime, *, by: str
) -> SsoLink:
    made = SsoLink(
        connection_id=attempt.connection_id,
        staff_id=staff.id or 0,
        subject_hash=attempt.subject_hash or "",
        email=email,
        linked_at=at,
    )
    row = session.get(SsoConnection, attempt.connection_id)
    try:
        with session.begin_nested():
            session.add(made)
    except IntegrityError:
        raise Conflict("That account was linked a moment ago: sign in again.") from None
    audit.record(
        session,
        actor=principal_of(
            session=session,
            staff_id=staff.id or 0,
            generation=staff.token_generation,
            refusal=START_AGAIN,
        ),
        at=at,
        action="sso.linked",
        object_type="staff",
        object_id=staff.id,
        school_id=staff.school_id,
        details={"provider": row.provider if row else "", "link": made.id, "by": by},
    )
    return made


CODE_LIMIT = "Too many wrong codes for this account; wait before trying again."


def give_code(
    *,
    session: Session,
    attempt: SsoAttempt,
    code: str,
    client: str,
    settings: Settings,
    at: datetime,
) -> Staff | None:
    """The second factor after the provider: the account's code (or a recovery code), counted
    against the account's sign-in limits like a code given with a password. None if wrong."""
    staff = _usable(session, attempt.staff_id or 0)
    limits = throttle.Keys.of(staff.email, client)
    # Only this account's own failures from this address make it wait: others' failures from
    # a school's shared address never lock out the owner, who has the provider's sign-in too.
    wait = throttle.wait_seconds(session, limits.pair, at)
    if wait:
        raise TooManyAttempts(CODE_LIMIT, retry_after=wait)
    if not code or not mfa.check(
        session, staff_id=staff.id or 0, code=code, settings=settings, at=at
    ):
        throttle.record_failure(
            session, limits.pair, free=settings.signin_free_failures, settings=settings, at=at
        )
        throttle.record_failure(
            session,
            limits.client,
            free=settings.signin_client_free_failures,
            settings=settings,
            at=at,
        )
        return None
    throttle.forget(session, limits.pair)
    _claim(session, attempt, was="code", now="done")
    session.execute(delete(SsoAttempt).where(col(SsoAttempt.id) == attempt.id))
    return staff


def prune(session: Session, *, at: datetime) -> int:
    """Sign-ins begun and never finished (housekeeping)."""
    gone = session.execute(delete(SsoAttempt).where(col(SsoAttempt.expires_at) <= at))
    return int(getattr(gone, "rowcount", 0) or 0)
