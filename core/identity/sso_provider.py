"""A trust's OpenID provider, through Authlib: its published configuration and keys (kept, and
fetched again when a token names a key not seen yet), the authorization request with PKCE,
state and nonce, the code exchanged at its token endpoint, and the ID token checked claim by
claim (issuer per tenant, audience, expiry, nonce, signature) before anyone is named by it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from core.errors import Unauthorized, Unavailable
from core.settings import Settings

PROVIDERS = {"microsoft": "Microsoft", "google": "Google"}
SCOPE = "openid email profile"
TIMEOUT_SECONDS = 10.0
# A provider's configuration changes rarely; its keys rotate, and a token signed with a new
# key is answered by fetching them again (at most this often, so tokens naming keys that do
# not exist cannot make contactlog fetch on every request).
CONFIGURATION_SECONDS = 24 * 3600
KEYS_SECONDS = 3600
REFETCH_SECONDS = 30
# Seconds of difference between the provider's clock and contactlog's that are forgiven.
LEEWAY_SECONDS = 60
# Google's ID tokens name their issuer in either form.
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")

UNREACHABLE = "{name} could not be reached to sign you in. Try again in a minute."
NOT_FOR_US = "{name} did not sign you in for this trust. Start again from the sign-in page."


@dataclass(frozen=True)
class Connection:
    """What the flow needs of a trust's connection (core/identity/models.py: SsoConnection)."""

    provider: str
    tenant: str
    client_id: str
    secret_file: str

    @property
    def name(self) -> str:
        return PROVIDERS[self.provider]


@dataclass(frozen=True)
class Identity:
    """Whom a checked ID token names: the provider's stable subject id, and the address it
    vouches for (None unless the provider vouches for it within the trust's tenant or domain)."""

    subject: str
    email: str | None


def discovery_url(connection: Connection, settings: Settings) -> str:
    if connection.provider == "microsoft":
        base = f"{settings.sso_microsoft_authority.rstrip('/')}/{connection.tenant}/v2.0"
    else:
        base = settings.sso_google_issuer.rstrip("/")
    return f"{base}/.well-known/openid-configuration"


class _Kept:
    """Documents fetched from providers, kept for a while in this process. Fetched again before
    its time when asked (a token names a key not seen yet), though not more often than every
    REFETCH_SECONDS: tokens naming keys that do not exist cannot make every request a fetch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: dict[str, tuple[float, dict[str, Any]]] = {}
        self._refetched: dict[str, float] = {}

    def get(self, url: str, *, keep: float, fresh: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            kept = self._documents.get(url)
            refetch = fresh and now - self._refetched.get(url, -REFETCH_SECONDS) >= REFETCH_SECONDS
            if refetch:
                self._refetched[url] = now
        if kept and now - kept[0] < keep and not refetch:
            return kept[1]
        response = httpx.get(url, timeout=TIMEOUT_SECONDS, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer with a JSON object")
        with self._lock:
            self._documents[url] = (time.monotonic(), document)
        return document

    def forget(self) -> None:
        with self._lock:
            self._documents.clear()
            self._refetched.clear()


KEPT = _Kept()


NEEDED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


def configuration(connection: Connection, settings: Settings) -> dict[str, Any]:
    """The provider's published OpenID configuration, with every address the flow needs."""
    try:
        document = KEPT.get(discovery_url(connection, settings), keep=CONFIGURATION_SECONDS)
    except (httpx.HTTPError, ValueError):
        raise Unavailable(UNREACHABLE.format(name=connection.name)) from None
    if not all(isinstance(document.get(name), str) for name in NEEDED):
        raise Unavailable(UNREACHABLE.format(name=connection.name))
    return document


def _secret(connection: Connection) -> str:
    try:
        return Path(connection.secret_file).read_text(encoding="utf-8").strip()
    except OSError:
        raise Unavailable(
            f"Signing in with {connection.name} is not set up properly: its client secret "
            "cannot be read. Tell your trust's IT lead."
        ) from None


def authorization_url(
    connection: Connection,
    settings: Settings,
    *,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_verifier: str,
) -> str:
    """Where the browser goes to sign in with the provider: the code flow with PKCE (S256)."""
    endpoint = configuration(connection, settings)["authorization_endpoint"]
    extra = {"hd": connection.tenant} if connection.provider == "google" else {}
    return str(
        prepare_grant_uri(
            endpoint,
            client_id=connection.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
            **extra,
        )
    )


def exchange(
    connection: Connection,
    settings: Settings,
    *,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    nonce: str,
    at: datetime,
) -> Identity:
    """The code the provider sent back, exchanged at its token endpoint (the client secret in
    HTTP Basic, as RFC 6749 prefers) for its ID token, and the token checked."""
    document = configuration(connection, settings)
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
    )
    try:
        answer = httpx.post(
            document["token_endpoint"],
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            auth=(quote(connection.client_id, safe=""), quote(_secret(connection), safe="")),
            timeout=TIMEOUT_SECONDS,
        )
        token = answer.json()
    except (httpx.HTTPError, ValueError):
        raise Unavailable(UNREACHABLE.format(name=connection.name)) from None
    if answer.status_code != 200 or not isinstance(token, dict) or "error" in token:
        # A code used before, or one not issued to this sign-in (its PKCE verifier differs).
        raise Unauthorized(NOT_FOR_US.format(name=connection.name))
    return check_id_token(
        connection,
        document,
        id_token=str(token.get("id_token") or ""),
        access_token=token.get("access_token"),
        nonce=nonce,
        at=at,
        settings=settings,
    )


def expected_issuer(connection: Connection, document: dict[str, Any]) -> str:
    """Entra's multi-tenant configuration names its issuer with `{tenantid}` in it: the issuer
    of a token for this trust is that with the trust's own tenant put in."""
    return str(document.get("issuer", "")).replace("{tenantid}", connection.tenant)


def check_answer_issuer(connection: Connection, settings: Settings, issuer: str | None) -> None:
    """RFC 9207: a provider that says it names itself in its answers must name itself, as the
    trust's provider; an answer naming another (a mix-up of providers) is refused."""
    document = configuration(connection, settings)
    promised = document.get("authorization_response_iss_parameter_supported") is True
    if issuer is None and not promised:
        return
    if issuer != expected_issuer(connection, document):
        raise Unauthorized(NOT_FOR_US.format(name=connection.name))


def _keys(document: dict[str, Any], *, fresh: bool = False) -> KeySet:
    published: Any = KEPT.get(str(document["jwks_uri"]), keep=KEYS_SECONDS, fresh=fresh)
    return KeySet.import_key_set(published)


def check_id_token(
    connection: Connection,
    document: dict[str, Any],
    *,
    id_token: str,
    access_token: str | None,
    nonce: str,
    at: datetime,
    settings: Settings,
) -> Identity:
    """Every check an ID token must pass before its subject signs anyone in."""
    refused = Unauthorized(NOT_FOR_US.format(name=connection.name))
    # Signatures by the provider's published keys only: never `none`, never a shared secret.
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in offered if str(a)[:2] in ("RS", "PS", "ES") or a == "EdDSA"]
    try:
        try:
            decoded = jwt.decode(id_token, _keys(document), algorithms=algorithms)
        except InvalidKeyIdError:
            # A key the provider has rotated in since its keys were fetched.
            decoded = jwt.decode(id_token, _keys(document, fresh=True), algorithms=algorithms)
    except (httpx.HTTPError, ValueError, KeyError):
        raise Unavailable(UNREACHABLE.format(name=connection.name)) from None
    except JoseError:
        raise refused from None
    issuer = expected_issuer(connection, document)
    issuers = list(GOOGLE_ISSUERS) if issuer in GOOGLE_ISSUERS else [issuer]
    params: dict[str, Any] = {"nonce": nonce, "client_id": connection.client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "values": issuers},
            "aud": {"essential": True, "value": connection.client_id},
        },
        params,
    )
    try:
        claims.validate(now=int(at.timestamp()), leeway=LEEWAY_SECONDS)
    except JoseError:
        raise refused from None
    if not nonce or claims.get("nonce") != nonce:
        raise refused
    return Identity(subject=str(claims["sub"]), email=_vouched_email(connection, claims))


WRONG_TENANT = (
    "That {name} account belongs to another organisation. Sign in with your account at your school."
)


def _vouched_email(connection: Connection, claims: dict[str, Any]) -> str | None:
    """The address the provider vouches for within the trust's tenant or domain, or None; an
    account of another tenant or domain is refused outright.

    Entra: the token's tenant must be the trust's, and the address is the user principal name
    (`preferred_username`), which Entra allows only on the tenant's verified domains; its
    `email` claim is whatever an administrator typed, so it is not used. Google: the hosted
    domain (`hd`) must be the trust's, and the address must be marked verified."""
    name = PROVIDERS[connection.provider]
    if connection.provider == "microsoft":
        if str(claims.get("tid", "")).lower() != connection.tenant.lower():
            raise Unauthorized(WRONG_TENANT.format(name=name))
        address = claims.get("preferred_username")
    else:
        if str(claims.get("hd", "")).lower() != connection.tenant.lower():
            raise Unauthorized(WRONG_TENANT.format(name=name))
        address = claims.get("email") if claims.get("email_verified") is True else None
    if not isinstance(address, str) or "@" not in address:
        return None
    return address.strip().lower()
