"""What every client sees at the edges: problem details, caps, headers, health."""

from __future__ import annotations

import re

import httpx
import pytest

from api.app import create_app
from core.db import Database
from tests.support.ground import assert_problem, count_rows, test_settings
from tests.support.record import checked

SECRET = "p9Xv2LqT7mZ4rW8sK1nB6cJ3hF5dG0yA" * 2


def test_unknown_path_is_a_problem_404(client):
    assert_problem(client.get("/no/such/thing"), 404)


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/me"), ("PUT", "/staff"), ("DELETE", "/pupils/1")]
)
def test_wrong_method_is_a_problem_405(client, world, method, path):
    response = client.request(method, path, headers=world.auth("admin"))
    assert_problem(response, 405)
    assert response.headers["allow"]


def test_malformed_json_is_422_and_names_the_problem(client, world, db):
    response = client.post(
        "/devices",
        content=b'{"asset_tag": ',
        headers={**world.auth("admin"), "Content-Type": "application/json"},
    )
    assert_problem(response, 422)
    assert count_rows(db, "device") == 0


def test_wrong_types_are_422(client, world):
    response = client.post(
        "/devices", json={"asset_tag": ["x"], "description": 5}, headers=world.auth("admin")
    )
    problem = assert_problem(response, 422)
    assert {e["field"] for e in problem["errors"]} == {"asset_tag", "description"}


def test_body_over_the_cap_is_413_without_content_length(client, world, settings, db):
    def chunks():
        yield b'{"asset_tag": "A", "description": "'
        for _ in range(settings.max_body_bytes // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    response = client.post(
        "/devices",
        content=chunks(),
        headers={**world.auth("admin"), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert count_rows(db, "device") == 0


def test_body_over_the_cap_is_413_with_content_length(client, world, settings):
    body = b"{" + b" " * settings.max_body_bytes + b"}"
    response = client.post(
        "/devices",
        content=body,
        headers={**world.auth("admin"), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


def test_path_ids_must_be_numbers(client, world):
    # A path whose id is not a number names no record: there is nothing at that address.
    assert_problem(client.get("/staff/abc", headers=world.auth("admin")), 404)
    assert_problem(client.patch("/pupils/import", json={}, headers=world.auth("admin")), 405)


def test_every_response_says_no_store(client, world):
    for response in (
        client.get("/healthz"),
        client.get("/me", headers=world.auth("owner")),
        client.get("/nope"),
        client.get("/me"),
    ):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers  # development: no TLS


def test_production_answers(tmp_path, db):
    """In production: HSTS on every answer, no interactive documents unless asked for."""
    from fastapi.testclient import TestClient

    production = test_settings(
        tmp_path, environment="production", database_url="sqlite://", jwt_secret=SECRET
    )
    with TestClient(create_app(production, db)) as client:
        answer = client.get("/healthz")
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert_problem(client.get(path), 404)
    asked = production.model_copy(update={"api_docs": True})
    with TestClient(create_app(asked, db)) as client:
        assert client.get("/openapi.json").status_code == 200


def test_no_server_software_is_named(server):
    answer = httpx.get(f"{server.url}/healthz")
    assert "server" not in answer.headers


def test_headers_over_the_cap_are_refused(client, world, settings):
    big = {"X-Padding": "a" * settings.max_header_bytes, **world.auth("owner")}
    refused = client.get("/me", headers=big)
    assert refused.status_code == 431
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/me", headers=world.auth("owner")).status_code == 200


def test_reading_the_verification_never_makes_a_check(client, world, db):
    """A DSL asking again and again reads the check on file: the server hashes the record only
    when the scheduler makes a check (hourly, or asked for), and says when it was made."""
    from sqlalchemy import text

    dsl = world.auth("dsl")
    first = checked(client, dsl)
    assert first["ok"] is True
    assert first["verified_at"]
    with db.engine.begin() as conn:  # tampered with after that check
        conn.execute(text("UPDATE audit_event SET reason = 'edited' WHERE seq = 1"))
    again = client.get("/audit/verify", headers=dsl).json()
    assert again == first
    fresh = checked(client, dsl)
    assert fresh["ok"] is False
    assert fresh["first_bad"] == 1


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_not_ready_when_the_schema_is_not_migrated(tmp_path):
    from fastapi.testclient import TestClient

    settings = test_settings(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings, db)) as client:
        response = client.get("/readyz")
        assert_problem(response, 503, detail_contains="migration")
        assert client.get("/healthz").status_code == 200
    db.dispose()


def test_not_ready_when_the_database_is_unreachable(tmp_path):
    from fastapi.testclient import TestClient

    settings = test_settings(tmp_path)
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    with TestClient(create_app(settings, db)) as client:
        assert_problem(client.get("/readyz"), 503, detail_contains="not reachable")
    db.dispose()


@pytest.mark.parametrize("pinged", [False, True])
def test_a_connection_cut_while_idle_is_replaced_before_use(
    client, world, db, backend, monkeypatch, pinged
):
    """A pooled connection that dies while idle (a restart, a firewall) costs no request."""
    if backend != "postgresql":
        pytest.skip("SQLite has no connection to lose")
    import psycopg

    from core import db as core_db

    monkeypatch.setattr(core_db, "PING_AFTER_IDLE_SECONDS", 0.0 if pinged else 3600.0)
    db.engine.dispose()
    with db.engine.connect() as conn:  # the pool's only connection, then back to the pool
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with psycopg.connect(
        db.engine.url.set(drivername="postgresql").render_as_string(False)
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    try:
        response = client.get("/me", headers=world.auth("owner"))
    finally:
        db.engine.dispose()  # whatever happened, the next test starts with a sound pool
    if pinged:
        assert response.status_code == 200, response.text
    else:  # what pinging spares the user: the request that meets the dead connection fails,
        # and says plainly that the database was out of reach and when to try again
        assert_problem(response, 503, detail_contains="could not be reached")
        assert int(response.headers["retry-after"]) >= 1
    assert client.get("/me", headers=world.auth("owner")).status_code == 200


def test_a_connection_lost_during_commit_says_the_outcome_is_unknown(
    client, world, school, db, backend
):
    """Not "nothing was changed": nobody knows. Retrying with the same key saves it once."""
    if backend != "postgresql":
        pytest.skip("SQLite has no connection to lose")
    import psycopg
    from sqlalchemy import event

    from tests.support.builders import message, request_body

    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    admin_url = db.engine.url.set(drivername="postgresql").render_as_string(False)
    cut: list[int] = []

    def cut_before_commit(conn) -> None:  # type: ignore[no-untyped-def]
        if not cut:
            pid = conn.connection.dbapi_connection.info.backend_pid
            cut.append(pid)
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    event.listen(db.engine, "commit", cut_before_commit)
    body, key = message(summary="Sent during a database failover"), {"Idempotency-Key": "k-503"}
    try:
        lost = client.post(f"/contacts/{cid}/messages", json=body, headers={**owner, **key})
    finally:
        event.remove(db.engine, "commit", cut_before_commit)
        db.engine.dispose()
    assert_problem(lost, 503, detail_contains="Idempotency-Key")
    assert "nothing was changed" not in lost.text
    assert lost.headers["retry-after"]
    again = client.post(f"/contacts/{cid}/messages", json=body, headers={**owner, **key})
    assert again.status_code == 201, again.text
    assert count_rows(db, "message") == 1


def test_openapi_docs_are_served_from_the_package_and_ask_for_the_token(client):
    spec = client.get("/openapi.json").json()
    assert "/auth/token" in spec["paths"]
    assert "otp" in str(spec["components"]["schemas"])  # the second factor's field
    [scheme] = spec["components"]["securitySchemes"].values()
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    docs = client.get("/docs")
    assert docs.status_code == 200
    # Offline, or behind a school's filter: no file from anywhere but contactlog itself.
    files = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert files
    assert all(f.startswith("/docs-files/") for f in files), files
    for f in files:
        assert client.get(f).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/staff/6489669141945434452250329088", None),
        ("PATCH", "/devices/18829414500054962176", {"description": "x"}),
        ("GET", "/contacts/20791841699273994240/messages/5862", None),
        ("POST", "/devices", {"asset_tag": "A", "description": "d", "school_id": 10**20}),
        ("GET", "/staff/0", None),
        ("GET", "/messages?pupil_id=99999999999999999999", None),
    ],
)
def test_out_of_range_ids_are_invalid_input_not_errors(client, world, method, path, body):
    response = client.request(method, path, json=body, headers=world.auth("admin"))
    assert_problem(response, 422)


def test_text_with_a_nul_character_is_invalid_input(client, world, db):
    body = {"asset_tag": "A\u0000B", "description": "iPad"}
    assert_problem(client.post("/devices", json=body, headers=world.auth("admin")), 422)
    assert count_rows(db, "device") == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/audit/events?action=a%00b"), ("GET", "/staff?cursor=%00")],
)
def test_a_nul_in_a_query_is_invalid_input(client, world, method, path):
    assert_problem(client.request(method, path, headers=world.auth("dsl")), 422)


def test_a_nul_in_a_sign_in_is_invalid_input_not_an_error(client, world):
    response = client.post("/auth/token", data={"username": "a\u0000b@x.org", "password": "p"})
    body = assert_problem(response, 422, detail_contains="username")
    assert body["errors"][0]["field"] == "username"
