"""The WhatsApp Business Platform's webhook for school-owned numbers: Meta's verification
handshake, and its signed deliveries (no sign-in: the signature over the raw body is what is
checked). Answers 404 unless the app secret and verify token are configured."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from api.deps import SessionDep
from api.routing import UnitOfWorkRoute
from contacts.capture import webhook
from core import clock
from core.errors import Forbidden, InvalidInput, NotFound
from core.policy import policy_for
from core.settings import Settings

router = APIRouter(route_class=UnitOfWorkRoute, tags=["captures"])
# A delivery carries a few messages; Meta batches at most a few hundred kilobytes.
MOST_BYTES = 3 * 1024 * 1024


def _secret(path: Path | None) -> bytes:
    if path is None or not path.is_file():
        raise NotFound("This deployment takes no WhatsApp Business deliveries.")
    return path.read_bytes().strip()


async def raw_body(request: Request) -> bytes:
    """The delivery exactly as sent: its signature is over these bytes."""
    body = await request.body()
    if len(body) > MOST_BYTES:
        raise InvalidInput(f"A delivery is at most {MOST_BYTES} bytes.")
    return body


@router.get("/capture/whatsapp", response_class=PlainTextResponse)
def verify_webhook(
    request: Request,
    mode: Annotated[str, Query(alias="hub.mode", max_length=40)] = "",
    token: Annotated[str, Query(alias="hub.verify_token", max_length=400)] = "",
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=400)] = "",
) -> PlainTextResponse:
    """Meta's handshake when the webhook is set up: the challenge back if the token is ours."""
    settings: Settings = request.app.state.settings
    expected = _secret(settings.whatsapp_verify_token_file)
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), expected):
        raise Forbidden("That is not this deployment's verify token.")
    return PlainTextResponse(challenge)


@router.post("/capture/whatsapp")
def take_delivery(
    request: Request, session: SessionDep, body: Annotated[bytes, Depends(raw_body)]
) -> dict[str, int]:
    """A signed delivery: its messages kept (each once), for the numbers set up here; 401 and
    nothing stored if the signature is missing or wrong."""
    settings: Settings = request.app.state.settings
    webhook.signed(
        body,
        request.headers.get("x-hub-signature-256"),
        secret=_secret(settings.whatsapp_app_secret_file),
    )
    new = webhook.take(
        session,
        at=clock.now(),
        body=body,
        policy_of=lambda school: policy_for(session, school.trust_id, settings),
    )
    return {"new_messages": new}
