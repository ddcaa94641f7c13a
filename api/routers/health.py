"""Liveness and readiness for load balancers and docker-compose health checks."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from api.deps import get_database
from api.problems import problem
from api.routing import UnitOfWorkRoute
from api.schema import current_revision
from core import jobruns
from core.settings import Settings

router = APIRouter(route_class=UnitOfWorkRoute, tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Database unreachable or not migrated, or no scheduler"}},
)
def readyz(request: Request) -> JSONResponse:
    """The database answers, its schema is at the migrations' head, and the scheduler has run
    a job to the end within `SCHEDULER_STALE_SECONDS` (reminders and alerts depend on it)."""
    db = get_database(request)
    settings: Settings = request.app.state.settings
    try:
        with db.session(for_reading=True) as session:
            connection = session.connection()
            connection.execute(text("SELECT 1"))
            revision = current_revision(connection)
            heartbeat = jobruns.last_success(session) if revision is not None else None
    except Exception:
        return problem(503, "The database is not reachable.", slug="not-ready")
    head = request.app.state.schema_head
    if revision != head:
        return problem(503, "The database schema is not at the latest migration.", slug="not-ready")
    stale = settings.scheduler_stale_seconds
    now = datetime.now(UTC)
    started: datetime = request.app.state.started_at
    since = heartbeat or started  # a scheduler just starting gets the same grace
    if stale and (now - since).total_seconds() > stale:
        return problem(
            503,
            f"No scheduled job has run for over {stale} seconds: reminders, alerts and email "
            "are not going out. Is the scheduler running?",
            slug="not-ready",
        )
    ran = heartbeat.isoformat() if heartbeat else None
    return JSONResponse({"status": "ready", "schema": revision, "scheduler_ran_at": ran})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={401: {"description": "Without the scrape credential"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests by route, the outbox's backlog, each job's runs — for the
    operators' Prometheus only (`Authorization: Bearer <METRICS_TOKEN>`): when a route was first
    used (a hold released, an evidence pack taken) is itself something a subject must not see."""
    settings: Settings = request.app.state.settings
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = settings.scrape_credential
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        return problem(401, "Metrics are served with the scrape credential only.")
    return cast(Response, request.app.state.metrics.response())
