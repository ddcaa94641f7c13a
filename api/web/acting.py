"""Who is acting on a page: the browser session behind the cookie, looked up in the page's
worker thread as a token's principal is; every form posted must carry the session's form
token (CSRF), and is refused with 403 without it."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.datastructures import URL

from api.deps import WRITING_READS, Acting, SessionDep
from core import clock
from core.directory.models import School
from core.errors import Forbidden
from core.identity import browser_sessions
from core.principal import Principal
from core.settings import Settings

COOKIE = "contactlog_session"
# What a session that must first set up a second factor may reach.
SECOND_FACTOR_PAGE = "/app/second-factor"
ENROL_PAGES = frozenset({SECOND_FACTOR_PAGE, "/sign-out", "/app/passkeys", "/app/passkeys/options"})
SET_UP_FIRST = "Set up your second factor first, at /app/second-factor."
FORM_REFUSED = (
    "This form has expired or did not come from contactlog: go back, reload, and try again."
)


class BrowserCaller:
    """The session behind the cookie, checked when first needed (it reads the database)."""

    def __init__(
        self, session: Session, token: str | None, settings: Settings, at: object, path: str
    ) -> None:
        self._session = session
        self._path = path
        self._token = token
        self._settings = settings
        self._at = at
        self._signed: browser_sessions.Signed | None = None

    def signed(self) -> browser_sessions.Signed:
        if self._signed is None:
            self._signed = browser_sessions.resume(
                session=self._session,
                token=self._token,
                settings=self._settings,
                at=self._at,  # type: ignore[arg-type]
            )
            if self._signed.enrol_only and self._path not in ENROL_PAGES:
                raise Forbidden(SET_UP_FIRST)
        return self._signed

    def principal(self) -> Principal:
        return self.signed().principal


class PageActing(Acting):
    """`Acting`, from a browser session, with the form token its pages carry and the address
    the page was asked for (a list's "Next page" link keeps its filters)."""

    url: URL

    @property
    def form_token(self) -> str:
        return self._who.signed().form_token  # type: ignore[attr-defined,no-any-return]

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of the reader's school (a trust role's: the trust's default)."""
        school = self.session.get(School, self.actor.school_id) if self.actor.school_id else None
        return self.policy.zone(school) if school is not None else self.policy.zone_of(None)

    @property
    def enrol_only(self) -> bool:
        """Signed in, but a second factor must be set up before anything else."""
        return self._who.signed().enrol_only  # type: ignore[attr-defined,no-any-return]

    def check_form(self, given: str | None) -> None:
        if not browser_sessions.form_token_matches(self.form_token, given):
            raise Forbidden(FORM_REFUSED)


async def page_acting(request: Request, session: SessionDep) -> PageActing:
    state = request.app.state
    at = clock.now()
    who = BrowserCaller(session, request.cookies.get(COOKIE), state.settings, at, request.url.path)
    acting = PageActing(session, who, state.settings, state.policies, at)
    acting.url = request.url
    return acting


# Page views write (the session's last-seen stamp), so their unit of work may.
WRITING_READS.add(page_acting)
PageDep = Annotated[PageActing, Depends(page_acting)]
