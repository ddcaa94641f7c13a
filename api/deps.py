"""Request dependencies: the unit of work, who is acting (principal, policy, instant), paging."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol

import anyio
import anyio.to_thread
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from core import clock
from core.db import Database
from core.errors import OUTCOME_UNKNOWN, Forbidden, Unauthorized, Unavailable
from core.identity.auth import principal_for
from core.identity.security import Passwords, TokenClaims, TokenService
from core.policy import Policy, PolicyBook
from core.principal import Principal
from core.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# A bearer token from POST /auth/token. Declared as HTTP bearer, not as OAuth2's password flow:
# /docs then asks for the token itself, which POST /auth/token gives with the second factor's
# code (`otp`), a field the password flow's dialog has no place for.
bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="The access_token from POST /auth/token (email, password and, where the "
    "account has a second factor, otp).",
)


# Dependencies that do no I/O are `async def`: FastAPI would run a plain `def` one in a worker
# thread, a hand-over each way for every request.


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def tokens_dep(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.tokens
    return tokens


async def passwords_dep(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def writes(request: Request) -> bool:
    """Changes write; so does a read whose route takes `RecordedRead` (it records the access)."""
    route = request.scope.get("route")
    return request.method not in READ_METHODS or _records_access(route)


def _records_access(route: object) -> bool:
    known = getattr(route, "_records_access", None)
    if known is None:
        dependant = getattr(route, "dependant", None)
        known = dependant is not None and any(
            d.call in WRITING_READS for d in dependant.dependencies
        )
        setattr(route, "_records_access", known)  # noqa: B010
    return bool(known)


class DatabaseTurns:
    """Requests wait for the database in the event loop, not in a worker thread.

    A request's unit of work spans several worker-thread calls (dependencies, endpoint, commit).
    Were requests to wait for a connection, or for SQLite's single write lock, inside those
    threads, a burst larger than the thread pool could leave every thread waiting on a request
    that needs a thread to finish. Here at most `sessions` requests hold the database at once,
    and on SQLite one writer at a time, handed over the moment the previous one commits
    (SQLite's own busy wait polls, and would leave the lock idle between writers).
    """

    def __init__(self, *, sessions: int, one_writer: bool) -> None:
        self.sessions = sessions
        self.one_writer = one_writer
        # asyncio primitives belong to one event loop, and must never be touched from another
        # (a waiter in one loop woken from another's thread is never woken at all): a server
        # has one loop; each test client starts its own, and gets its own turns.
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def _of_this_loop(self) -> tuple[asyncio.Semaphore, asyncio.Lock]:
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop.setdefault(
                loop, (asyncio.Semaphore(self.sessions), asyncio.Lock())
            )
        return found

    @asynccontextmanager
    async def turn(self, *, write: bool) -> AsyncIterator[None]:
        slots, writer = self._of_this_loop()
        async with slots:
            if write and self.one_writer:
                async with writer:
                    yield
            else:
                yield


async def request_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed when the endpoint returns, rolled back if it raises.

    It starts with the request's turn at the database (see `DatabaseTurns`), held until the
    commit ends. Opening a session does no I/O; the commit (or rollback) and close run in one
    worker thread call, shielded so that a client hanging up cannot leave a transaction open.
    """
    turns: DatabaseTurns = request.app.state.turns
    write = writes(request)
    async with turns.turn(write=write):
        session = get_database(request).session(for_reading=not write)
        try:
            yield session
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_end, session, False)
            raise
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_end, session, True)
        else:  # already committed by the endpoint: closing does no I/O
            session.close()


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            commit_or_say_unknown(session)
        else:
            session.rollback()
    finally:
        session.close()


def commit_or_say_unknown(session: Session) -> None:
    """Commit; a connection lost during COMMIT leaves the outcome unknown, and the answer says
    so (503, retry with the same Idempotency-Key) rather than claiming nothing was changed."""
    try:
        session.commit()
    except (OperationalError, InterfaceError) as exc:
        raise Unavailable(OUTCOME_UNKNOWN) from exc


# scope="function": the commit runs as soon as the endpoint returns, before the response is
# sent, so a failed commit becomes an error response instead of a false success.
SessionDep = Annotated[Session, Depends(request_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(settings_dep)]
TokensDep = Annotated[TokenService, Depends(tokens_dep)]
PasswordsDep = Annotated[Passwords, Depends(passwords_dep)]


# What a token that may only enrol a second factor can reach.
ENROL_PATHS = frozenset(
    {"/me", "/me/mfa", "/me/mfa/confirm", "/me/passkeys/options", "/me/passkeys", "/auth/revoke"}
)


class Caller:
    """Who is asking: the bearer token, checked on arrival, and the principal it stands for.

    Checking the token's signature and expiry needs no I/O, so it happens before anything else
    in the request. Looking up the principal (the account still active, the token not revoked,
    the roles held now) reads the database, so it runs in the worker thread of whatever needs
    it first: a create looks it up in the same thread call as the create itself.
    """

    def __init__(self, session: Session, claims: TokenClaims) -> None:
        self._session = session
        self._claims = claims
        self._principal: Principal | None = None

    def principal(self) -> Principal:
        if self._principal is None:
            self._principal = principal_for(session=self._session, claims=self._claims)
        return self._principal


async def caller(
    request: Request,
    session: SessionDep,
    given: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    token = given.credentials if given is not None else None
    if not token:
        raise Unauthorized("Sign in first: this needs a bearer token from POST /auth/token.")
    tokens: TokenService = request.app.state.tokens
    claims = tokens.read(token)
    if claims.enrol_only and request.url.path not in ENROL_PATHS:
        raise Forbidden(
            "Set up your second factor first (POST /me/mfa, then POST /me/mfa/confirm), then "
            "sign in again with its code."
        )
    return Caller(session, claims)


CallerDep = Annotated[Caller, Depends(caller)]


class Who(Protocol):
    """Whoever stands behind a request: a bearer token's caller, a browser session."""

    def principal(self) -> Principal: ...


class Acting:
    """Who is acting, under which trust's policy, at which instant: the arguments every service
    takes. The instant is read from the clock once, as the request arrives; the principal and
    the policy are looked up when first asked for, in the endpoint's worker thread."""

    def __init__(
        self, session: Session, who: Who, settings: Settings, policies: PolicyBook, at: datetime
    ) -> None:
        self.session = session
        self.settings = settings
        self.policies = policies
        self.at = at
        self._who = who
        self._policy: Policy | None = None

    @property
    def actor(self) -> Principal:
        return self._who.principal()

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = self.policies.policy(self.session, self.actor.trust_id)
        return self._policy


def _acting(request: Request, session: Session, who: Caller) -> Acting:
    state = request.app.state
    return Acting(session, who, state.settings, state.policies, clock.now())


async def acting(request: Request, session: SessionDep, who: CallerDep) -> Acting:
    return _acting(request, session, who)


async def recorded_read(request: Request, session: SessionDep, who: CallerDep) -> Acting:
    """As `acting`, for a read that records who read what (§3.5): its session may write."""
    return _acting(request, session, who)


ActingDep = Annotated[Acting, Depends(acting)]
RecordedRead = Annotated[Acting, Depends(recorded_read)]
# Dependencies whose reads write (an access recorded, a session's last-seen stamp): a route
# taking one gets a unit of work that may write, GET or not.
WRITING_READS: set[object] = {recorded_read}


@dataclass(frozen=True)
class Paging:
    cursor: str | None
    limit: int


async def paging(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200, description="From next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Rows per page")] = 50,
) -> Paging:
    max_page_size: int = request.app.state.settings.max_page_size
    return Paging(cursor=cursor, limit=min(limit, max_page_size))


PagingDep = Annotated[Paging, Depends(paging)]
