"""Liveness and readiness for load balancers and docker-compose health checks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import get_database
from api.problems import problem
from api.schema import current_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated"}})
def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the migrations' head."""
    db = get_database(request)
    try:
        with db.session(read_only=True) as session:
            connection = session.connection()
            connection.execute(text("SELECT 1"))
            revision = current_revision(connection)
    except Exception:
        return problem(503, "The database is not reachable.", slug="not-ready")
    head = request.app.state.schema_head
    if revision != head:
        return problem(503, "The database schema is not at the latest migration.", slug="not-ready")
    return JSONResponse({"status": "ready", "schema": revision})
