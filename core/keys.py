"""Keys held outside the database: stored tokens keyed with them, and secrets encrypted with them.

Whoever can read or write the database (a copy, a backup, a hand-written row) must not be able to
act as someone. So a session cookie or device token is stored only as an HMAC under a key that
lives in the deployment's settings or data folder, never in the database — a row written by hand
with a hash of a cookie of one's own choosing matches nothing — and a TOTP secret is stored
encrypted (AES-256-GCM), bound to its owner, so a copy cannot generate anyone's codes.

Rotation: the current key encrypts; older keys (OLD_SECRET_KEYS) still decrypt, so a new key can
be put in place at once and `contactlog keys rotate` re-encrypts every secret under it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import Settings

PREFIX = "v1"


class SecretUnreadable(Exception):
    """An encrypted secret that no key of this deployment opens (or that was altered)."""


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"contactlog {purpose}".encode()
    ).derive(secret.encode())


@dataclass(frozen=True)
class _Key:
    key_id: str
    token_key: bytes
    aead: AESGCM

    @classmethod
    def of(cls, secret: str) -> _Key:
        key_id = hashlib.sha256(_derive(secret, "key id")).hexdigest()[:8]
        return cls(key_id, _derive(secret, "stored tokens"), AESGCM(_derive(secret, "secrets")))


class Keys:
    """The deployment's current key and the older ones it still reads."""

    def __init__(self, current: str, older: tuple[str, ...] = ()) -> None:
        self.current = _Key.of(current)
        self.all = {k.key_id: k for k in (self.current, *(_Key.of(o) for o in older))}

    def token_hash(self, kind: str, token: str) -> str:
        """What is stored for a cookie or device token of this kind: never the token itself,
        and nothing a database writer can compute."""
        message = f"{kind}\x1f{token}".encode()
        return hmac.new(self.current.token_key, message, hashlib.sha256).hexdigest()

    def token_hashes(self, kind: str, token: str) -> list[str]:
        """The token's hash under every key still read, the current key's first: what was
        stored before a rotation is still found (and may then be stored again under the
        current key)."""
        message = f"{kind}\x1f{token}".encode()
        return [
            hmac.new(key.token_key, message, hashlib.sha256).hexdigest()
            for key in (self.current, *(k for k in self.all.values() if k is not self.current))
        ]

    def encrypt(self, plain: str, *, bound_to: str) -> str:
        """`plain` encrypted under the current key; `bound_to` (the owner) must match to open it,
        so a secret copied onto another account's row opens for nobody."""
        nonce = os.urandom(12)
        sealed = self.current.aead.encrypt(nonce, plain.encode(), bound_to.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{PREFIX}:{self.current.key_id}:{blob}"

    def decrypt(self, stored: str, *, bound_to: str) -> str:
        try:
            prefix, key_id, blob = stored.split(":", 2)
            key = self.all[key_id]
            raw = base64.urlsafe_b64decode(blob.encode())
            if prefix != PREFIX:
                raise ValueError(prefix)
            return key.aead.decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
        except (ValueError, KeyError, InvalidTag) as exc:
            raise SecretUnreadable("No key of this deployment opens this secret.") from exc

    def is_current(self, stored: str) -> bool:
        return stored.startswith(f"{PREFIX}:{self.current.key_id}:")


@cache
def _keys(current: str, older: tuple[str, ...]) -> Keys:
    return Keys(current, older)


def of(settings: Settings) -> Keys:
    """The keys of this deployment (built once per distinct configuration)."""
    # The setting itself when given (a copied Settings may carry another's cached file key).
    current = settings.secret_key or settings.stored_secret_key
    return _keys(current, tuple(settings.old_secret_keys))
