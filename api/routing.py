"""The request's one commit, where the work was done: every route commits its unit of work as
its endpoint returns, in the endpoint's own worker thread.

The session dependency (`api.deps.request_session`) would commit too, but only after a second
hand-over to a worker thread; on SQLite the write lock is held across that hand-over, and the
log write measured a third slower for it (bench P1). Committing here, before the response is
built, still turns a failed commit into an error response and never into a false success."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlmodel import Session

from api.deps import Acting, commit_or_say_unknown


def _session_of(values: dict[str, Any]) -> Session | None:
    for value in values.values():
        if isinstance(value, Acting):
            return value.session
        if isinstance(value, Session):
            return value
    return None


def commits(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        session = _session_of(kwargs)
        if session is not None and session.in_transaction():
            commit_or_say_unknown(session)
        return result

    return run


class UnitOfWorkRoute(APIRoute):
    """A route whose plain (`def`) endpoint commits the request's work as it returns."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = commits(endpoint)
        super().__init__(path, endpoint, **kwargs)
