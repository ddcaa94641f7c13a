"""RFC 9457 problem details: the one place where every error becomes an HTTP response."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from core.errors import NOT_REACHED, DomainError, TooManyAttempts, Unavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("contactlog.api")


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": Problem.model_json_schema()}}
# Documented on every operation, so clients (and schema checkers) know every answer's shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": _PROBLEM_CONTENT}
    for status, description in {
        400: "The request could not be read",
        401: "Not signed in, or the token is invalid, expired or revoked",
        403: "Signed in, but not allowed to do this",
        404: "No such record (or not one of your school's)",
        405: "Method not allowed here",
        409: "Conflicts with the record's current state, or a duplicate in flight",
        413: "The body is larger than this address accepts",
        415: "Unsupported media type",
        422: "Invalid input, or a rule of the protocol forbids it",
        429: "Too many attempts; see Retry-After",
        500: "Something went wrong on the server; nothing was changed",
        503: "Not ready: the database is unreachable or not migrated",
    }.items()
}


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": f"urn:contactlog:problem:{slug or phrase.lower().replace(' ', '-')}",
        "title": title or phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=PROBLEM_JSON)


def domain_problem(exc: DomainError) -> JSONResponse:
    headers = {}
    if isinstance(exc, TooManyAttempts | Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    extra = {k: v for k, v in exc.extra.items() if k != "retry_after"}
    return problem(exc.status, exc.detail, slug=exc.slug, title=exc.title, headers=headers, **extra)


def _field(loc: tuple[Any, ...]) -> str:
    # ("body", "roles", 0) -> "roles[0]"; the leading source names where it came from.
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path", "header")
        else [str(p) for p in loc]
    )
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or str(loc[0] if loc else "body")


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    # Input values are never echoed back: they may be a pupil's name or a password.
    errors = [
        {
            "field": _field(tuple(e.get("loc", ()))),
            "in": str(e.get("loc", ("body",))[0]),
            "message": e.get("msg", "invalid"),
        }
        for e in exc.errors()
    ]
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem(
        422,
        f"The request is not valid: {fields}." if fields else "The request is not valid.",
        slug="invalid-input",
        title="Invalid input",
        errors=errors,
    )


def _route(request: Request) -> str:
    """The route's template for a log line (`/pupils/{pupil_id}`): never the path sent, which
    may hold ids or a one-time link's token."""
    return getattr(request.scope.get("route"), "path_format", None) or "an unknown route"


def allowed_methods(request: Request) -> list[str]:
    """Every method some route offers at this path (a path may span several routes)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        # Record ids are whole numbers in every route, as the routes themselves declare.
        pattern, _, _ = compile_path(re.sub(r"\{(\w+_id)\}", r"{\1:int}", template))
        if pattern.match(request.url.path):
            methods.update(m.upper() for m in operations)
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address."
        if exc.status_code == 405:
            detail = "This method is not allowed here."
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem(exc.status_code, detail, headers=headers)

    @app.exception_handler(DataError)
    async def _unstorable(_: Request, exc: DataError) -> JSONResponse:
        # A value the database refuses (out of range, a NUL in a query parameter...): the
        # request's transaction has been rolled back, so nothing was written.
        return problem(
            422,
            "The request holds a value that cannot be stored or searched for.",
            slug="invalid-input",
            title="Invalid input",
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_unreachable(request: Request, exc: DBAPIError) -> JSONResponse:
        # A lost connection or a database that is down: the request's work was rolled back.
        log.warning(
            "database unavailable (%s) on %s %s",
            type(exc).__name__,
            request.method,
            _route(request),
        )
        return domain_problem(Unavailable(NOT_REACHED))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged without the request body or query: they may hold personal data.
        log.error(
            "unhandled %s on %s %s",
            type(exc).__name__,
            request.method,
            _route(request),
            exc_info=exc,
        )
        return problem(500, "Something went wrong on the server; nothing was changed.")
