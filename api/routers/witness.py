"""This deployment as a witness for other logs (C2SP tlog-witness): add-checkpoint, and the
latest checkpoint it cosigned for each, without signing in (the log's signature is what is
checked). Answers 404 everywhere unless CONTACTLOG_WITNESS_LOGS_FILE names logs to witness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import PlainTextResponse

from api.deps import SessionDep
from api.routing import UnitOfWorkRoute
from core import clock
from core.errors import InvalidInput, NotFound
from core.record import checkpoints, witness
from core.settings import Settings

router = APIRouter(route_class=UnitOfWorkRoute, tags=["transparency"])
MOST_BYTES = 16_384  # 63 proof lines and a checkpoint with a few signatures fit many times
OriginHash = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "The cosignature"},
    409: {"content": {"text/x.tlog.size": {}}, "description": "The size this witness holds"},
}


def _witnessing(settings: Settings) -> dict[str, Any]:
    logs = witness.witnessed_logs(settings.witness_logs_file)
    if not logs:
        raise NotFound("This deployment is not a witness.")
    return logs


async def submission(request: Request) -> str:
    """The request body as text, read before the endpoint's worker thread takes it."""
    body = await request.body()
    if len(body) > MOST_BYTES:
        raise InvalidInput(f"A submission is at most {MOST_BYTES} bytes.")
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise InvalidInput("A submission is UTF-8 text.") from None


BODY = {
    "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}
}


@router.post(
    "/witness/add-checkpoint",
    response_class=PlainTextResponse,
    responses=TEXT,
    openapi_extra=BODY,
)
def add_checkpoint(
    request: Request, session: SessionDep, text: Annotated[str, Depends(submission)]
) -> PlainTextResponse:
    """Cosign a checkpoint of a witnessed log that is consistent with the last one cosigned
    (an old size line, its consistency proof, a blank line, the checkpoint)."""
    settings: Settings = request.app.state.settings
    logs = _witnessing(settings)
    answer = witness.add_checkpoint(
        session,
        text,
        witnessed=logs,
        name=settings.witness_cosigner_name,
        key=checkpoints.load_key(settings.witness_key_path),
        at=clock.now(),
    )
    return PlainTextResponse(answer.body, status_code=answer.status, media_type=answer.content_type)


@router.get("/witness/{origin_hash}/checkpoint", response_class=PlainTextResponse)
def witnessed(origin_hash: OriginHash, request: Request, session: SessionDep) -> PlainTextResponse:
    """The latest checkpoint this witness cosigned for the log whose origin has this SHA-256."""
    _witnessing(request.app.state.settings)
    found = witness.witnessed_checkpoint(session, origin_hash)
    if found is None:
        raise NotFound("This witness has cosigned no checkpoint of that log.")
    return PlainTextResponse(found, headers={"Cache-Control": "no-cache"})
