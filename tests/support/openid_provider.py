"""The real OpenID provider the single sign-on tests sign in through: panva's certified
`oidc-provider` (tests/support/oidc/provider.mjs) on the machine's Node, on loopback, as two
Microsoft Entra tenants and a Google Workspace. Required in CI (`.ci/run` installs its
packages with npm ci); elsewhere, without Node or its packages, the tests are skipped with a
loud warning."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ground import IN_CI

HERE = Path(__file__).parent / "oidc"
TENANT_A = "5d1c2b7a-8e3f-4a60-9b1d-2c4e6f8a0b1a"
TENANT_B = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
GOOGLE_DOMAIN = "a.example.org"
CLIENT_ID = "contactlog-test-client"
CLIENT_SECRET = "a-client-secret-for-the-tests-only"


def _entra(tid: str, login: str, email: str) -> dict[str, Any]:
    # Entra's ID token: the tenant, the user principal name on a verified domain, and an
    # `email` that is only what an administrator typed (so contactlog never uses it).
    return {
        "oid": f"oid-{login}",
        "tid": tid,
        "preferred_username": email,
        "email": "typed-by-an-admin@example.net",
        "name": login.replace("_", " ").title(),
    }


def _google(login: str, email: str, *, hd: str | None, verified: bool = True) -> dict[str, Any]:
    claims = {"email": email, "email_verified": verified, "name": login}
    if hd is not None:
        claims["hd"] = hd
    return claims


def accounts() -> dict[str, dict[str, dict[str, Any]]]:
    """Each issuer's accounts, by the login typed at the provider, which is also the subject
    id (`sub`) of its tokens."""
    return {
        f"/{TENANT_A}/v2.0": {
            "owner": _entra(TENANT_A, "owner", "owner@a.example.org"),
            "dsl": _entra(TENANT_A, "dsl", "dsl@a.example.org"),
            "other_staff": _entra(TENANT_A, "other_staff", "other_staff@a.example.org"),
            "nobody": _entra(TENANT_A, "nobody", "nobody@a.example.org"),
            "newcomer": _entra(TENANT_A, "newcomer", "newcomer@a.example.org"),
            # Signed in at this tenant's page, but an account of another tenant.
            "visitor": _entra(TENANT_B, "visitor", "owner@a.example.org"),
        },
        f"/{TENANT_B}/v2.0": {
            # Another trust's tenant, where someone gave an account the owner's address.
            "intruder": _entra(TENANT_B, "intruder", "owner@a.example.org"),
        },
        "/google": {
            "owner": _google("owner", "owner@a.example.org", hd=GOOGLE_DOMAIN),
            "personal": _google("personal", "owner.personal@gmail.com", hd=None),
            "unverified": _google(
                "unverified", "owner@a.example.org", hd=GOOGLE_DOMAIN, verified=False
            ),
        },
    }


@dataclass
class OpenIdProvider:
    origin: str

    @property
    def microsoft_authority(self) -> str:
        return self.origin

    @property
    def google_issuer(self) -> str:
        return f"{self.origin}/google"

    def _control(self, what: str, issuer: str, body: dict[str, Any] | None = None) -> Any:
        answer = httpx.post(
            f"{self.origin}/_test/{what}", params={"issuer": issuer}, json=body or {}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    def next_id_token(self, issuer: str, **claims: Any) -> None:
        """The issuer's next ID token re-signed with these claims changed (`stranger=True`:
        signed with a key it never published)."""
        self._control("next-id-token", issuer, claims)

    def rotate_key(self, issuer: str) -> str:
        return str(self._control("rotate", issuer)["kid"])

    def counts(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.origin}/_test/counts", timeout=10).json())


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node not found (apt-get install nodejs npm)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return f"oidc-provider not installed (npm ci --prefix {HERE})"
    return None


@contextmanager
def running(redirect_uris: list[str]) -> Iterator[OpenIdProvider]:
    problem = _missing()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"The OpenID provider is required in CI: {problem}")
        pytest.skip(f"Single sign-on tests SKIPPED: {problem}")
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
    }
    config = {
        "issuers": [
            {"path": path, "client": client, "accounts": people}
            for path, people in accounts().items()
        ]
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as written:
        json.dump(config, written)
    # Its warnings and any error it meets, for a person looking into a failure.
    log = Path(tempfile.gettempdir()) / "contactlog-openid-provider.log"
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs"), written.name],
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the OpenID provider did not start: {line!r}")
        yield OpenIdProvider(origin=f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        Path(written.name).unlink(missing_ok=True)
