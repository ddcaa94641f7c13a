"""Signing in, the tokens it issues, revocation, deactivation and throttling."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
from jose import jwt

from api.app import create_app
from core import clock
from core.identity.security import ALGORITHM
from tests.support.builders import message, request_body
from tests.support.ground import PASSWORD, assert_problem, count_rows


def sign_in(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/auth/token", data={"username": email, "password": password})


def test_sign_in_issues_a_short_lived_bearer_token(client, world, settings):
    response = sign_in(client, "owner@a.example.org")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_minutes * 60 == 1800
    me = client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": world.ids["owner"],
        "name": "Owner",
        "email": "owner@a.example.org",
        "roles": ["staff"],
        "school_id": world.school_a,
        "school_name": "A",
        "line_manager_id": world.ids["manager"],
        "is_headteacher": False,
    }
    assert me.headers["cache-control"] == "no-store"


def test_sign_in_email_is_case_insensitive(client, world):
    assert sign_in(client, "  Owner@A.Example.ORG ").status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [("owner@a.example.org", "wrong password"), ("nobody@a.example.org", PASSWORD)],
)
def test_wrong_email_or_password_gets_the_same_401(client, world, email, password):
    body = assert_problem(sign_in(client, email, password), 401, detail_contains="incorrect")
    assert "nobody" not in json.dumps(body)


def test_sign_in_needs_both_fields(client, world):
    body = assert_problem(client.post("/auth/token", data={"username": "x"}), 422)
    assert body["errors"][0]["field"] == "password"


def test_deactivated_account_cannot_sign_in(client, world):
    client.patch(
        f"/staff/{world.ids['owner']}", json={"is_active": False}, headers=world.auth("admin")
    )
    assert_problem(sign_in(client, "owner@a.example.org"), 401)


def test_me_without_token_is_401_with_www_authenticate(client, world):
    response = client.get("/me")
    assert_problem(response, 401, detail_contains="sign in")
    assert response.headers["www-authenticate"] == "Bearer"


def _forge(settings, **changes):  # type: ignore[no-untyped-def]
    now = int(clock.now().timestamp())
    claims = {
        "sub": "1",
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "iat": now,
        "exp": now + 600,
        "jti": "abc",
        "gen": 0,
    }
    key = changes.pop("key", settings.jwt_secret)
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def _unsigned(claims: dict) -> str:  # type: ignore[type-arg]
    def part(data: dict) -> str:  # type: ignore[type-arg]
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


FORGERIES = {
    "wrong key": {"key": "another-secret-" + "y" * 40},
    "expired": {"exp": 1_000_000_000, "iat": 999_999_000},
    "missing exp": {"exp": None},
    "missing iat": {"iat": None},
    "missing jti": {"jti": None},
    "missing sub": {"sub": None},
    "wrong audience": {"aud": "someone-else"},
    "wrong issuer": {"iss": "someone-else"},
    "missing audience": {"aud": None},
    "missing issuer": {"iss": None},
    "non-numeric subject": {"sub": "admin"},
    "unknown account": {"sub": "987654"},
    "older generation": {"gen": -1},
    "missing generation": {"gen": None},
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_tokens_are_401(client, world, settings, forgery):
    changes = dict(FORGERIES[forgery])
    if "sub" not in changes:
        changes["sub"] = str(world.ids["admin"])
    token = _forge(settings, **changes)
    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_genuine_forge_helper_token_is_accepted(client, world, settings):
    # The forgeries above differ from this accepted token in one claim each.
    token = _forge(settings, sub=str(world.ids["admin"]))
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_token_that_worked_stops_working_when_it_expires(client, world, settings, monkeypatch):
    token = _forge(settings, sub=str(world.ids["admin"]))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/me", headers=headers).status_code == 200  # checked, and remembered
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    assert_problem(client.get("/me", headers=headers), 401)


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "", "Bearer", "e30.e30.", "x" * 5000],
)
def test_garbage_tokens_are_401(client, world, token):
    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)


def test_alg_none_is_401(client, world, settings):
    now = int(clock.now().timestamp())
    token = _unsigned(
        {
            "sub": str(world.ids["admin"]),
            "iss": settings.token_issuer,
            "aud": settings.token_audience,
            "iat": now,
            "exp": now + 600,
            "jti": "x",
            "gen": 0,
        }
    )
    assert_problem(client.get("/me", headers={"Authorization": f"Bearer {token}"}), 401)


def test_expiry_is_enforced_by_the_clock(client, world):
    token = sign_in(client, "owner@a.example.org").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/me", headers=headers).status_code == 200
    # python-jose checks exp against the system clock, so the token is issued 31 minutes ago.
    issued = clock.now() - timedelta(minutes=31)
    clock.set_clock(lambda: issued)
    old = sign_in(client, "owner@a.example.org").json()["access_token"]
    clock.set_clock(None)
    assert_problem(client.get("/me", headers={"Authorization": f"Bearer {old}"}), 401)


def test_revoke_rejects_existing_tokens_on_the_next_request(client, world):
    first = sign_in(client, "owner@a.example.org").json()["access_token"]
    second = sign_in(client, "owner@a.example.org").json()["access_token"]
    response = client.post("/auth/revoke", headers={"Authorization": f"Bearer {first}"})
    assert response.status_code == 204
    for token in (first, second, world.tokens["owner"]):
        assert_problem(client.get("/me", headers={"Authorization": f"Bearer {token}"}), 401)
    fresh = sign_in(client, "owner@a.example.org").json()["access_token"]
    assert client.get("/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    # Revoking my tokens touches nobody else's.
    assert client.get("/me", headers=world.auth("other_staff")).status_code == 200


def test_a_revoked_token_creates_nothing(client, world, school, db):
    # A create looks up who is asking inside its own unit of work: refused there, it writes
    # nothing, not even its idempotency key.
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    assert client.post("/auth/revoke", headers=owner).status_code == 204
    tables = ("message", "contact", "audit_event", "idempotency_key")
    before = [count_rows(db, t) for t in tables]
    for path, body in (
        (f"/contacts/{cid}/messages", message()),
        ("/contacts", request_body(school)),
    ):
        response = client.post(path, json=body, headers={**owner, "Idempotency-Key": "after"})
        assert_problem(response, 401)
    assert [count_rows(db, t) for t in tables] == before


def test_revoke_needs_a_token(client, world):
    assert_problem(client.post("/auth/revoke"), 401)


def test_deactivation_rejects_existing_tokens_at_once(client, world):
    assert client.get("/me", headers=world.auth("owner")).status_code == 200
    response = client.patch(
        f"/staff/{world.ids['owner']}", json={"is_active": False}, headers=world.auth("admin")
    )
    assert response.status_code == 200
    assert_problem(client.get("/me", headers=world.auth("owner")), 401)
    # Reactivated, the old token stays dead: a deactivation ends every session for good.
    client.patch(
        f"/staff/{world.ids['owner']}", json={"is_active": True}, headers=world.auth("admin")
    )
    assert_problem(client.get("/me", headers=world.auth("owner")), 401)
    assert sign_in(client, "owner@a.example.org").status_code == 200


def test_an_admin_cannot_set_anyones_password(client, world):
    """Yesterday an admin set the trust admin's password and signed in as her."""
    for target in ("owner", "trust_admin"):
        refused = client.patch(
            f"/staff/{world.ids[target]}",
            json={"password": "a brand new passphrase"},
            headers=world.auth("admin"),
        )
        assert_problem(refused, 422)
    assert sign_in(client, "trust_admin@a.example.org", "a brand new passphrase").status_code == 401
    assert client.get("/me", headers=world.auth("owner")).status_code == 200


def test_repeated_failures_are_throttled_with_retry_after(client, world, settings):
    for _ in range(settings.signin_free_failures - 1):
        assert sign_in(client, "owner@a.example.org", "nope").status_code == 401
    # The failure that reaches the limit is still answered 401; the next attempt must wait.
    assert sign_in(client, "owner@a.example.org", "nope").status_code == 401
    refused = sign_in(client, "owner@a.example.org")  # even the right password waits
    assert_problem(refused, 429, detail_contains="wait")
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= settings.signin_base_delay_seconds
    # Other accounts are not affected.
    assert sign_in(client, "other_staff@a.example.org").status_code == 200
    # Once the wait is over the right password works and that address's count starts again.
    later = clock.now() + timedelta(seconds=wait + 1)
    clock.set_clock(lambda: later)
    assert sign_in(client, "owner@a.example.org").status_code == 200
    assert sign_in(client, "owner@a.example.org", "nope").status_code == 401  # counted afresh


def test_throttle_doubles_and_is_shared_between_processes(client, world, settings, db):
    # A second API process over the same database sees the same failures.
    other_process = create_app(settings, db)
    from fastapi.testclient import TestClient

    with TestClient(other_process, raise_server_exceptions=False) as other:
        # The clock stands still while the failures are made: on a loaded machine they took
        # longer than the second of slack below, and the wait had not yet ended.
        start = clock.now()
        clock.set_clock(lambda: start)
        for i in range(settings.signin_free_failures):
            target = client if i % 2 else other
            assert sign_in(target, "owner@a.example.org", "nope").status_code == 401
        first_wait = int(sign_in(other, "owner@a.example.org").headers["retry-after"])
        clock.set_clock(lambda: start + timedelta(seconds=first_wait + 1))
        assert sign_in(client, "owner@a.example.org", "nope").status_code == 401
        second_wait = int(sign_in(other, "owner@a.example.org").headers["retry-after"])
        assert second_wait > first_wait
        assert second_wait <= settings.signin_max_delay_seconds


def test_unknown_accounts_are_throttled_too(client, world, settings):
    for _ in range(settings.signin_free_failures):
        sign_in(client, "ghost@a.example.org", "nope")
    assert_problem(sign_in(client, "ghost@a.example.org", "nope"), 429)


def from_address(app, address: str):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def test_someone_elses_failures_do_not_lock_the_owner_out(app, client, world, settings):
    """Yesterday: five wrong passwords from anywhere locked the DSL out, right password or not."""
    attacker = from_address(app, "203.0.113.9")
    for _ in range(settings.signin_free_failures + 3):
        attacker.post("/auth/token", data={"username": "dsl@a.example.org", "password": "nope"})
    assert_problem(sign_in(attacker, "dsl@a.example.org"), 429)
    owner = from_address(app, "198.51.100.20")
    assert sign_in(owner, "dsl@a.example.org").status_code == 200


def test_one_address_spraying_many_accounts_is_stopped(app, world, settings):
    """Yesterday: one client tried 160 unknown accounts and never met a 429."""
    sprayer = from_address(app, "203.0.113.7")
    answers = [
        sprayer.post(
            "/auth/token", data={"username": f"guess{n}@a.example.org", "password": "nope"}
        ).status_code
        for n in range(settings.signin_client_free_failures + 5)
    ]
    assert answers[: settings.signin_client_free_failures] == [401] * (
        settings.signin_client_free_failures
    )
    assert answers[-1] == 429
    assert_problem(sign_in(sprayer, "owner@a.example.org"), 429, detail_contains="address")
    assert sign_in(from_address(app, "198.51.100.21"), "owner@a.example.org").status_code == 200


def test_failures_from_many_addresses_make_a_password_alone_wait(app, world, settings):
    for n in range(settings.signin_account_free_failures):
        from_address(app, f"203.0.113.{n + 1}").post(
            "/auth/token", data={"username": "owner@a.example.org", "password": "nope"}
        )
    refused = sign_in(from_address(app, "198.51.100.22"), "owner@a.example.org")
    assert_problem(refused, 429, detail_contains="wait")


def test_a_burst_of_sign_ins_queues_then_is_told_to_retry(world, settings, db, backend):
    """At most a few password checks run at once; the rest wait briefly, then get 429, so a
    burst never starves everyone's sign-in of the machine's cores and memory."""
    if backend != "postgresql":
        pytest.skip("on SQLite writing requests already take turns before any password check")
    import threading

    from fastapi.testclient import TestClient

    slow = settings.model_copy(
        update={
            "signin_hashes_at_once": 1,
            "signin_queue_seconds": 0.01,
            "password_time_cost": 3,
            "password_memory_kib": 65536,
        }
    )
    answers: list[int] = []
    with TestClient(create_app(slow, db), raise_server_exceptions=False) as http:

        def one(n: int) -> None:
            answers.append(sign_in(http, f"nobody{n}@a.example.org", "nope").status_code)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert set(answers) == {401, 429}, answers


def test_stale_throttles_are_pruned(client, world, settings, db):
    from scheduler.runner import run_job

    sign_in(client, "owner@a.example.org", "nope")
    assert count_rows(db, "signin_throttle") == 3  # the pair, the address, the account
    run_job("housekeeping", db, settings, clock.now() + timedelta(minutes=1))
    assert count_rows(db, "signin_throttle") == 3  # still counting
    later = clock.now() + timedelta(minutes=settings.signin_window_minutes + 1)
    run_job("housekeeping", db, settings, later)
    assert count_rows(db, "signin_throttle") == 0
