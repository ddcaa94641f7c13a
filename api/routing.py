"""The request's one commit, where the work was done: every route commits its unit of work as
its endpoint returns, in the endpoint's own worker thread.

The session dependency (`api.deps.request_session`) would commit too, but only after a second
hand-over to a worker thread; on SQLite the write lock is held across that hand-over, and the
log write measured a third slower for it (bench P1). Committing here, before the response is
built, still turns a failed commit into an error response and never into a false success."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
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


def _query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter the endpoint and its dependencies take, by the name sent."""
    names: set[str] = set()
    waiting = [dependant]
    while waiting:
        current = waiting.pop()
        names.update(p.alias for p in current.query_params)
        waiting.extend(current.dependencies)
    return frozenset(names)


class UnitOfWorkRoute(APIRoute):
    """A route whose plain (`def`) endpoint commits the request's work as it returns. An API
    route refuses query parameters it does not take (422 naming them): `?limt=5` is a mistake
    to tell the caller of, not a default to serve them silently."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = commits(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.include_in_schema:  # pages: a browser's own parameters are not mistakes
            return handler
        known = _query_names(self.dependant)

        async def checked(request: Request) -> Response:
            unknown = [n for n in request.query_params if n not in known]
            if unknown:
                raise RequestValidationError(
                    [
                        {
                            "type": "extra_forbidden",
                            "loc": ("query", name),
                            "msg": "This query parameter is not one this operation takes",
                            "input": request.query_params[name],
                        }
                        for name in unknown
                    ]
                )
            return await handler(request)

        return checked
