"""Passkeys (WebAuthn, with `webauthn`): registered by the account's owner and used as the whole
sign-in, so the device must check its user (a PIN, fingerprint or face) every time: possession
and that check are the two factors; the authenticator's counter checked at every use; each
registration and removal in the change record. The relying party is the deployment's own
address (PUBLIC_URL)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import delete
from sqlmodel import Session, col, select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_client_data_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from core import once
from core.directory.models import Staff
from core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    RuleBroken,
    TooManyAttempts,
    Unauthorized,
)
from core.identity import mfa, throttle
from core.identity.auth import roles_of
from core.identity.models import Passkey, PasskeyChallenge, SecondFactor
from core.principal import Principal
from core.record import audit
from core.settings import Settings

CHALLENGE_LIFETIME = timedelta(minutes=5)
REFUSED = "That passkey did not sign you in. Try again, or sign in with your password."


def relying_party(settings: Settings) -> tuple[str, str]:
    """(RP ID, origin): the host and the origin of the deployment's public address."""
    parts = urlsplit(settings.public_url)
    return parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}"


def _hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _new_challenge(session: Session, *, purpose: str, staff_id: int | None, at: datetime) -> bytes:
    challenge = webauthn.helpers.generate_challenge()
    session.add(
        PasskeyChallenge(
            challenge_hash=_hash(challenge),
            purpose=purpose,
            staff_id=staff_id,
            expires_at=at + CHALLENGE_LIFETIME,
        )
    )
    return challenge


def _spend_challenge(
    session: Session, credential: dict[str, Any], *, purpose: str, at: datetime
) -> tuple[bytes, PasskeyChallenge]:
    """The challenge the browser signed, if it is one of ours for this purpose: used up now."""
    try:
        client_data = parse_client_data_json(
            base64url_to_bytes(credential["response"]["clientDataJSON"])
        )
    except Exception:
        raise InvalidInput("credential: not a WebAuthn response.") from None
    challenge = client_data.challenge
    found = session.exec(
        select(PasskeyChallenge).where(PasskeyChallenge.challenge_hash == _hash(challenge))
    ).first()
    if found is None or found.purpose != purpose or found.expires_at <= at:
        if purpose == "register":
            raise InvalidInput(
                "credential: this registration has expired or was used: start again."
            )
        raise Unauthorized(REFUSED)
    # Spent by whoever deletes it: two uses of one signed challenge at once, one of them is
    # refused (an authenticator whose counter stays at 0 has no other protection).
    spent = session.execute(delete(PasskeyChallenge).where(col(PasskeyChallenge.id) == found.id))
    if getattr(spent, "rowcount", 0) != 1:
        raise Unauthorized(REFUSED)
    return challenge, found


def registration_options(
    *, session: Session, actor: Principal, settings: Settings, at: datetime
) -> dict[str, Any]:
    """What the browser needs to make a passkey for the signed-in account."""
    staff = _own(session, actor)
    rp_id, _ = relying_party(settings)
    challenge = _new_challenge(session, purpose="register", staff_id=staff.id, at=at)
    known = session.exec(select(Passkey.credential_id).where(Passkey.staff_id == staff.id)).all()
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name="contactlog",
        user_id=str(staff.id).encode(),
        user_name=staff.email,
        user_display_name=staff.name,
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in known
        ],
    )
    return dict(json.loads(webauthn.options_to_json(options)))


def _own(session: Session, actor: Principal) -> Staff:
    staff = session.get(Staff, actor.staff_id or 0)
    if staff is None:
        raise NotFound("Passkeys belong to an account: sign in as yourself.")
    return staff


def register(
    *,
    session: Session,
    actor: Principal,
    credential: dict[str, Any],
    name: str,
    settings: Settings,
    at: datetime,
) -> Passkey:
    staff = _own(session, actor)
    challenge, issued = _spend_challenge(session, credential, purpose="register", at=at)
    if issued.staff_id != staff.id:
        raise InvalidInput("credential: this registration was begun by another account.")
    rp_id, origin = relying_party(settings)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except InvalidRegistrationResponse as exc:
        raise InvalidInput(f"credential: {exc}") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.exec(select(Passkey.id).where(Passkey.credential_id == credential_id)).first():
        raise Conflict("This passkey is registered already.")
    passkey = Passkey(
        staff_id=staff.id or 0,
        credential_id=credential_id,
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        name=name,
        user_verified=verified.user_verified,
        created_at=at,
    )
    session.add(passkey)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="passkey.registered",
        object_type="staff",
        object_id=staff.id,
        school_id=staff.school_id,
        details={"passkey": passkey.id},
    )
    return passkey


def sign_in_options(*, session: Session, settings: Settings, at: datetime) -> dict[str, Any]:
    """A challenge for whichever passkey the person picks (discoverable credentials: no email
    is asked for, and none is revealed)."""
    rp_id, _ = relying_party(settings)
    challenge = _new_challenge(session, purpose="sign_in", staff_id=None, at=at)
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, challenge=challenge, user_verification=UserVerificationRequirement.REQUIRED
    )
    return dict(json.loads(webauthn.options_to_json(options)))


PASSKEY_LIMIT = "Too many failed sign-ins from this address; wait before trying again."


def authenticate(
    *,
    session: Session,
    credential: dict[str, Any],
    client: str,
    settings: Settings,
    at: datetime,
) -> Staff:
    """The account a passkey signs in, or Unauthorized: an unknown or removed passkey, a
    signature that does not verify, a counter that went backwards (a cloned authenticator), no
    check of its user, a deactivated account. Each refusal counts against the client address's
    sign-in limit, as a wrong password does (core/identity/throttle.py)."""
    key = throttle.Keys.of("", client).client
    wait = throttle.wait_seconds(session, key, at)
    if wait:
        raise TooManyAttempts(PASSKEY_LIMIT, retry_after=wait)
    try:
        return _authenticate(session, credential, settings, at)
    except Unauthorized:
        throttle.record_failure(
            session, key, free=settings.signin_client_free_failures, settings=settings, at=at
        )
        raise


def _authenticate(
    session: Session, credential: dict[str, Any], settings: Settings, at: datetime
) -> Staff:
    challenge, _ = _spend_challenge(session, credential, purpose="sign_in", at=at)
    passkey = session.exec(
        select(Passkey).where(Passkey.credential_id == str(credential.get("id", "")))
    ).first()
    if passkey is None:
        raise Unauthorized(REFUSED)
    staff = session.get(Staff, passkey.staff_id)
    if staff is None or not staff.is_active:
        raise Unauthorized(REFUSED)
    rp_id, origin = relying_party(settings)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse:
        raise Unauthorized(REFUSED) from None
    # Conditionally, so two uses of one signature's counter cannot both pass.
    if not once.took(
        session,
        Passkey,
        passkey.id,
        still=col(Passkey.sign_count) == passkey.sign_count,
        values={"sign_count": verified.new_sign_count, "last_used_at": at},
    ):
        raise Unauthorized(REFUSED)
    return staff


def prune(session: Session, *, at: datetime) -> int:
    """Challenges never used are forgotten once past their time."""
    gone = session.execute(delete(PasskeyChallenge).where(col(PasskeyChallenge.expires_at) < at))
    return int(getattr(gone, "rowcount", 0) or 0)


def list_mine(*, session: Session, actor: Principal) -> list[Passkey]:
    return list(
        session.exec(
            select(Passkey)
            .where(Passkey.staff_id == (actor.staff_id or 0))
            .order_by(col(Passkey.id))
        ).all()
    )


def remove(
    *, session: Session, actor: Principal, passkey_id: int, settings: Settings, at: datetime
) -> None:
    """One's own passkey goes; never the last factor of an account whose role needs one."""
    staff = _own(session, actor)
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.staff_id != staff.id:
        raise NotFound("No such passkey of yours.")
    others = session.exec(
        select(Passkey.id).where(Passkey.staff_id == staff.id, col(Passkey.id) != passkey_id)
    ).first()
    totp = session.get(SecondFactor, staff.id)
    has_totp = totp is not None and totp.confirmed_at is not None
    if others is None and not has_totp and mfa.required(roles_of(session, staff.id or 0), settings):
        raise RuleBroken(
            "This is your only second factor, and your role needs one: add another first."
        )
    session.execute(delete(Passkey).where(col(Passkey.id) == passkey_id))
    audit.record(
        session,
        actor=actor,
        at=at,
        action="passkey.removed",
        object_type="staff",
        object_id=staff.id,
        school_id=staff.school_id,
        details={"passkey": passkey_id},
    )
