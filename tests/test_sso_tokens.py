"""The ID token's checks one by one, on tokens signed here as Entra and Google sign theirs:
Entra's multi-tenant issuer with the trust's tenant put in, another tenant's issuer or `tid`
refused, Google's two spellings of its issuer, its hosted domain and verified address, the
nonce, the audience, the algorithm (no `none`, no HMAC with the public key), and expiry at the
edges of the allowed clock difference."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from core.errors import Unauthorized, Unavailable
from core.identity import sso_provider
from core.identity.sso_provider import Connection, check_id_token
from core.settings import Settings

TENANT = "5d1c2b7a-8e3f-4a60-9b1d-2c4e6f8a0b1a"
OTHER_TENANT = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
ENTRA = "https://login.microsoftonline.com"
KEYS_URL = "https://keys.test.invalid/discovery/v2.0/keys"
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
KEY = RSAKey.generate_key(2048, parameters={"kid": "entra-key-1"})
MICROSOFT = Connection("microsoft", TENANT, "contactlog-client", "/unused")
GOOGLE = Connection("google", "a.example.org", "contactlog-client", "/unused")
# Entra's multi-tenant configuration (…/organizations/v2.0): the issuer is a template.
MULTI_TENANT = {
    "issuer": f"{ENTRA}/{{tenantid}}/v2.0",
    "jwks_uri": KEYS_URL,
    "id_token_signing_alg_values_supported": ["RS256"],
}
GOOGLE_DOCUMENT = {**MULTI_TENANT, "issuer": "https://accounts.google.com"}


@pytest.fixture(autouse=True)
def published_keys():  # type: ignore[no-untyped-def]
    """The provider's keys, as if fetched a moment ago (no request leaves the machine)."""
    sso_provider.KEPT.forget()
    sso_provider.KEPT._documents[KEYS_URL] = (
        time.monotonic(),
        {"keys": [KEY.as_dict(private=False)]},
    )
    yield
    sso_provider.KEPT.forget()


def entra(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": f"{ENTRA}/{TENANT}/v2.0",
        "aud": "contactlog-client",
        "sub": "subject-1",
        "tid": TENANT,
        "preferred_username": "Owner@A.example.org",
        "email": "typed@example.net",
        "nonce": "the-nonce",
        "iat": int(NOW.timestamp()) - 10,
        "exp": int(NOW.timestamp()) + 3600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def signed(claims: dict[str, Any], *, key: Any = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "entra-key-1"}, claims, key, algorithms=[alg])


def check(token: str, *, connection: Connection = MICROSOFT, document: Any = None, at=NOW):  # type: ignore[no-untyped-def]
    return check_id_token(
        connection,
        document or MULTI_TENANT,
        id_token=token,
        access_token=None,
        nonce="the-nonce",
        at=at,
        settings=Settings(),
    )


def test_entras_multi_tenant_issuer_with_the_trusts_tenant_names_its_account():
    identity = check(signed(entra()))
    assert identity.subject == "subject-1"
    # The user principal name (on the tenant's verified domains), never the typed `email`.
    assert identity.email == "owner@a.example.org"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"iss": f"{ENTRA}/{OTHER_TENANT}/v2.0", "tid": OTHER_TENANT}, "did not sign you in"),
        ({"tid": OTHER_TENANT}, "another organisation"),
        ({"aud": "another-application"}, "did not sign you in"),
        ({"nonce": "another-nonce"}, "did not sign you in"),
        ({"nonce": None}, "did not sign you in"),
        ({"exp": int(NOW.timestamp()) - 120}, "did not sign you in"),
        ({"iss": None}, "did not sign you in"),
    ],
)
def test_a_token_failing_a_check_names_nobody(changes, words):
    with pytest.raises(Unauthorized, match=words):
        check(signed(entra(**changes)))


def test_no_signature_and_hmac_with_the_public_key_are_refused():
    unsigned = signed(entra(), key=OctKey.import_key("x" * 32), alg="HS256")
    with pytest.raises(Unauthorized):
        check(unsigned)
    _, payload, _ = signed(entra()).split(".")
    none = f"eyJhbGciOiJub25lIn0.{payload}."
    with pytest.raises(Unauthorized):
        check(none)
    forged = signed(entra(), key=RSAKey.generate_key(2048, parameters={"kid": "entra-key-1"}))
    with pytest.raises(Unauthorized):
        check(forged)


def google(**changes: Any) -> dict[str, Any]:
    claims = entra(
        iss="https://accounts.google.com",
        tid=None,
        preferred_username=None,
        email="owner@a.example.org",
        email_verified=True,
        hd="a.example.org",
    )
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize("issuer", ["https://accounts.google.com", "accounts.google.com"])
def test_google_names_its_issuer_either_way(issuer):
    identity = check(signed(google(iss=issuer)), connection=GOOGLE, document=GOOGLE_DOCUMENT)
    assert identity.email == "owner@a.example.org"


def test_google_vouches_only_for_a_verified_address_on_the_trusts_domain():
    unverified = check(
        signed(google(email_verified=False)), connection=GOOGLE, document=GOOGLE_DOCUMENT
    )
    assert unverified.email is None
    for other in ({"hd": "elsewhere.example.org"}, {"hd": None}):
        with pytest.raises(Unauthorized, match="another organisation"):
            check(signed(google(**other)), connection=GOOGLE, document=GOOGLE_DOCUMENT)


@given(
    expires=st.integers(min_value=-3 * 3600, max_value=3 * 3600),
    issued=st.integers(min_value=-3 * 3600, max_value=3 * 3600),
)
def test_expiry_and_issue_time_allow_exactly_the_clock_difference(expires, issued):
    """A token is taken while it has not expired, and was not issued in the future, give or
    take LEEWAY_SECONDS of difference between the clocks."""
    at = NOW + timedelta(seconds=0)
    token = signed(entra(exp=int(at.timestamp()) + expires, iat=int(at.timestamp()) + issued))
    leeway = sso_provider.LEEWAY_SECONDS
    taken = expires >= -leeway and issued <= leeway
    try:
        check(token, at=at)
    except Unauthorized:
        assert not taken
    else:
        assert taken


def test_a_configuration_missing_an_address_is_said_not_raised():
    sso_provider.KEPT._documents[sso_provider.discovery_url(MICROSOFT, Settings())] = (
        time.monotonic(),
        {"issuer": f"{ENTRA}/{TENANT}/v2.0", "authorization_endpoint": "https://x.invalid/a"},
    )
    with pytest.raises(Unavailable, match="could not be reached"):
        sso_provider.configuration(MICROSOFT, Settings())
