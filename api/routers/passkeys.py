"""Passkeys: the signed-in person registers, lists and removes their own (WebAuthn)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import ActingDep
from api.routing import UnitOfWorkRoute
from core.identity import passkeys
from core.identity.models import Passkey
from core.inputs import Forbid, RecordId

router = APIRouter(route_class=UnitOfWorkRoute, tags=["auth"])


class PasskeyCreate(Forbid):
    credential: dict[str, Any] = Field(description="The browser's PublicKeyCredential, as JSON")
    name: str = Field(default="Passkey", min_length=1, max_length=100)


class PasskeyPublic(BaseModel):
    id: int
    name: str
    user_verified: bool
    created_at: datetime
    last_used_at: datetime | None


def public(passkey: Passkey) -> PasskeyPublic:
    return PasskeyPublic.model_validate(passkey.model_dump())


@router.post("/me/passkeys/options")
def registration_options(acting: ActingDep) -> dict[str, Any]:
    """The options for `navigator.credentials.create()`: a challenge for five minutes."""
    return passkeys.registration_options(
        session=acting.session, actor=acting.actor, settings=acting.settings, at=acting.at
    )


@router.post("/me/passkeys", response_model=PasskeyPublic, status_code=201)
def register(body: PasskeyCreate, acting: ActingDep) -> object:
    """Register the passkey the browser made (user verification required where your role needs
    a second factor); on the record."""
    made = passkeys.register(
        session=acting.session,
        actor=acting.actor,
        credential=body.credential,
        name=body.name,
        settings=acting.settings,
        at=acting.at,
    )
    return public(made)


@router.get("/me/passkeys", response_model=list[PasskeyPublic])
def mine(acting: ActingDep) -> object:
    return [public(p) for p in passkeys.list_mine(session=acting.session, actor=acting.actor)]


@router.delete("/me/passkeys/{passkey_id:int}", status_code=204)
def remove(passkey_id: RecordId, acting: ActingDep) -> Response:
    """Remove one of your passkeys (never your role's only second factor); on the record."""
    passkeys.remove(
        session=acting.session,
        actor=acting.actor,
        passkey_id=passkey_id,
        settings=acting.settings,
        at=acting.at,
    )
    return Response(status_code=204)
