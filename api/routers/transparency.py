"""The logs as anyone may fetch them (C2SP tlog-tiles): checkpoints, tiles of hashes and entry
bundles, without signing in, for monitors and witnesses outside the trust. Hashes only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import PlainTextResponse, Response

from api.deps import SessionDep
from api.routing import UnitOfWorkRoute
from core.record import published

router = APIRouter(route_class=UnitOfWorkRoute, tags=["transparency"])
TrustId = Annotated[int, Path(ge=1, le=2**31)]
Level = Annotated[int, Path(ge=0, le=63)]
TilePath = Annotated[str, Path(max_length=64, pattern=r"^[x0-9/.p]+$")]
OCTETS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "Hashes"}
}
NOTE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "A signed checkpoint"}
}


def _checkpoint(note: str) -> PlainTextResponse:
    # A checkpoint changes every few minutes: never cached for long.
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


def _served(body: bytes) -> Response:
    # A tile, or a partial one of a given width, never changes: cached for ever.
    return Response(
        body,
        media_type="application/octet-stream",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get("/log/trust/{trust_id}/checkpoint", response_class=PlainTextResponse, responses=NOTE)
def trust_checkpoint(trust_id: TrustId, session: SessionDep) -> PlainTextResponse:
    """The trust's log's latest signed checkpoint."""
    return _checkpoint(published.checkpoint(session, trust_id))


@router.get("/log/trust/{trust_id}/tile/entries/{path:path}", responses=OCTETS)
def trust_entries(trust_id: TrustId, path: TilePath, session: SessionDep) -> Response:
    """An entry bundle of the trust's log: events' numbers and content hashes."""
    return _served(published.entries(session, trust_id, path))


@router.get("/log/trust/{trust_id}/tile/{level}/{path:path}", responses=OCTETS)
def trust_tile(trust_id: TrustId, level: Level, path: TilePath, session: SessionDep) -> Response:
    """A tile of the trust's log's hashes."""
    return _served(published.tile(session, trust_id, level, path))


@router.get("/log/deployment/checkpoint", response_class=PlainTextResponse, responses=NOTE)
def deployment_checkpoint(session: SessionDep) -> PlainTextResponse:
    """The latest checkpoint of the log of the deployment's own events (of no one trust)."""
    return _checkpoint(published.checkpoint(session, None))


@router.get("/log/deployment/tile/entries/{path:path}", responses=OCTETS)
def deployment_entries(path: TilePath, session: SessionDep) -> Response:
    """An entry bundle of the deployment's log."""
    return _served(published.entries(session, None, path))


@router.get("/log/deployment/tile/{level}/{path:path}", responses=OCTETS)
def deployment_tile(level: Level, path: TilePath, session: SessionDep) -> Response:
    """A tile of the deployment's log's hashes."""
    return _served(published.tile(session, None, level, path))
