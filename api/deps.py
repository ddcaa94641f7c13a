"""Request dependencies: the unit of work, the signed-in principal, paging parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from core.auth import Principal, principal_from_token
from core.db import Database
from core.errors import Unauthorized
from core.security import Passwords, TokenService
from core.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reads that write an access event to the change record (§3.5), so they need a writing session.
RECORDED_READS = frozenset(
    {"/messages", "/pupils/{pupil_id:int}/chronology", "/staff/{staff_id:int}/chronology"}
)

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.tokens
    return tokens


def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def request_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the endpoint returns, rolled back if it raises."""
    db = get_database(request)
    route = request.scope.get("route")
    recorded = getattr(route, "path", None) in RECORDED_READS
    with db.session(read_only=request.method in READ_METHODS and not recorded) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": the commit runs as soon as the endpoint returns, before the response is
# sent, so a failed commit becomes an error response instead of a false success.
SessionDep = Annotated[Session, Depends(request_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TokensDep = Annotated[TokenService, Depends(get_tokens)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]


def current_principal(
    session: SessionDep, tokens: TokensDep, token: Annotated[str | None, Depends(bearer)]
) -> Principal:
    if not token:
        raise Unauthorized("Sign in first: this needs a bearer token from POST /auth/token.")
    return principal_from_token(session=session, tokens=tokens, token=token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class Paging:
    def __init__(
        self,
        request: Request,
        cursor: Annotated[str | None, Query(max_length=200, description="From next_cursor")] = None,
        limit: Annotated[int, Query(ge=1, le=200, description="Rows per page")] = 50,
    ) -> None:
        self.cursor = cursor
        self.limit = min(limit, get_settings(request).max_page_size)


PagingDep = Annotated[Paging, Depends()]
