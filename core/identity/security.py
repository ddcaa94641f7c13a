"""Security primitives: access tokens (the only python-jose import) and password hashing."""

from __future__ import annotations

import functools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jose import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from core.errors import TooManyAttempts, Unauthorized
from core.settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss", "jti")
NOT_GENUINE = "The access token is invalid or has expired."
ENROL_ONLY = "enrol-second-factor"


@dataclass(frozen=True)
class TokenClaims:
    staff_id: int
    generation: int
    token_id: str
    expires_at: datetime
    # A token that may only enrol a second factor (the account must have one and has none).
    enrol_only: bool = False


class TokenService:
    """Issues and checks the short-lived signed tokens that stand for one staff sign-in."""

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.signing_secret
        self._issuer = settings.token_issuer
        self._audience = settings.token_audience
        self.lifetime = timedelta(minutes=settings.token_minutes)
        self._verified = functools.lru_cache(maxsize=4096)(self._verify)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={f"require_{name}": True for name in REQUIRED_CLAIMS},
            )
        except Exception as exc:  # JWTError, or others inside jose on malformed input
            raise Unauthorized(NOT_GENUINE) from exc
        if not isinstance(claims.get("exp"), int):
            raise Unauthorized(NOT_GENUINE)
        return claims

    def issue(
        self, *, staff_id: int, generation: int, at: datetime, enrol_only: bool = False
    ) -> tuple[str, int]:
        issued = at
        claims: dict[str, Any] = {
            "sub": str(staff_id),
            "iss": self._issuer,
            "aud": self._audience,
            "iat": int(issued.timestamp()),
            "exp": int((issued + self.lifetime).timestamp()),
            "jti": secrets.token_urlsafe(16),
            "gen": generation,
        }
        if enrol_only:
            claims["scope"] = ENROL_ONLY
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return token, int(self.lifetime.total_seconds())

    def read(self, token: str) -> TokenClaims:
        """The claims of a genuine, unexpired token of this deployment; Unauthorized otherwise."""
        claims = self._verified(token)
        # A token checked once is remembered (checking the signature costs more than the rest of
        # a request's authentication); its expiry is still checked on every use, as jose does.
        sub, gen, jti, exp = claims.get("sub"), claims.get("gen"), claims.get("jti"), claims["exp"]
        if (
            exp < int(time.time())
            or not (isinstance(sub, str) and sub.isdigit())
            or not isinstance(gen, int)
            or not isinstance(jti, str)
        ):
            raise Unauthorized(NOT_GENUINE)
        return TokenClaims(
            staff_id=int(sub),
            generation=gen,
            token_id=jti,
            expires_at=datetime.fromtimestamp(exp).astimezone(),
            enrol_only=claims.get("scope") == ENROL_ONLY,
        )


class Passwords:
    """Argon2 password hashing; verification also runs for unknown accounts to hide which exist."""

    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.password_time_cost,
                    memory_cost=settings.password_memory_kib,
                ),
            )
        )
        self._decoy = self._hash.hash(secrets.token_urlsafe(16))
        # Each check costs its memory and a core for a while: a burst of tries waits its turn
        # here (briefly) instead of starving everyone's sign-in, and past that is told to retry.
        self._at_once = threading.BoundedSemaphore(settings.signin_hashes_at_once)
        self._queue_seconds = settings.signin_queue_seconds

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, hashed: str | None) -> bool:
        if not self._at_once.acquire(timeout=self._queue_seconds):
            raise TooManyAttempts("Sign-in is busy; try again in a moment.", retry_after=1)
        try:
            if hashed is None:
                self._hash.verify(password, self._decoy)
                return False
            try:
                return self._hash.verify(password, hashed)
            except Exception:
                return False
        finally:
            self._at_once.release()
