"""The `contactlog` command, as an operator uses it: migrate, demo, first admin, pupil import."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pyotp
import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app as cli
from api.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from core.directory.models import School
from tests.support.ground import count_rows

runner = CliRunner()


@pytest.fixture
def operator_env(monkeypatch, tmp_path, database_url, app):  # app empties every table first
    monkeypatch.setenv("CONTACTLOG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONTACTLOG_DATABASE_URL", database_url)
    monkeypatch.setenv("CONTACTLOG_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("CONTACTLOG_PASSWORD_MEMORY_KIB", "64")
    return tmp_path


def test_migrate_then_demo_seeds_once_and_prints_sign_ins(operator_env, db):
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo trust created" in first.output
    assert "dana.lewis@riverside.example.org" in first.output
    assert DEMO_PASSWORD in first.output
    staff = count_rows(db, "staff")
    assert staff == 12
    assert count_rows(db, "school") == 2
    assert count_rows(db, "pupil") == 6
    assert count_rows(db, "contact") == 1
    assert count_rows(db, "consent") == 1
    second = runner.invoke(cli, ["demo"])
    assert "already has data" in second.output
    assert count_rows(db, "staff") == staff


def test_demo_is_refused_in_production(operator_env, monkeypatch):
    monkeypatch.setenv("CONTACTLOG_ENVIRONMENT", "production")
    monkeypatch.setenv("CONTACTLOG_JWT_SECRET", "p9Xv2LqT7mZ4rW8sK1nB6cJ3hF5dG0yA")
    monkeypatch.setenv("CONTACTLOG_SECRET_KEY", "w3Rt8YuI1oP5aS9dF2gH6jK0lZ4xC7vB")
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 2
    assert "not for production" in result.output


def test_production_with_default_secret_refuses_to_start(operator_env, monkeypatch):
    monkeypatch.setenv("CONTACTLOG_ENVIRONMENT", "production")
    monkeypatch.setenv("CONTACTLOG_JWT_SECRET", "changethis")
    result = runner.invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "JWT_SECRET" in result.output


def test_users_create_makes_the_first_admin_who_can_sign_in(operator_env, client):
    result = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--email",
            "office@school.example.org",
            "--name",
            "Office",
            "--school",
            "Northfield",
            "--trust",
            "Northfield Trust",
            "--role",
            "trust_admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="a long first password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created the account of Office <office@school.example.org>" in result.output
    token = client.post(
        "/auth/token",
        data={"username": "office@school.example.org", "password": "a long first password"},
    ).json()["access_token"]
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["school_name"] == "Northfield"
    assert me["roles"] == ["admin", "trust_admin"]
    again = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--email",
            "office@school.example.org",
            "--name",
            "X",
            "--school",
            "Northfield",
            "--password-stdin",
        ],
        input="another long password\n",
    )
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_import_pupils_from_a_file(operator_env, db):
    runner.invoke(cli, ["demo"])
    with db.session() as session:
        school = str(session.exec(select(School.id).where(School.name == "Hillcrest School")).one())
    good = operator_env / "pupils.csv"
    good.write_text("UPN,Forename,Surname,DOB\nN1,Ann,Lee,2011-01-01\nN2,Bo,Ray,2012-02-02\n")
    result = runner.invoke(cli, ["import", "pupils", str(good), "--school", school])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    bad = operator_env / "bad.csv"
    bad.write_text("UPN,Forename,Surname,DOB\nN3,Cy,Day,not-a-date\n")
    before = count_rows(db, "pupil")
    result = runner.invoke(cli, ["import", "pupils", str(bad), "--school", school])
    assert result.exit_code == 1
    assert "row 2" in result.output
    assert "date_of_birth" in result.output
    assert count_rows(db, "pupil") == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http(operator_env):
    """The server a newcomer starts: migrated, seeded, signed in to over a real socket."""
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    assert runner.invoke(cli, ["demo"]).exit_code == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        token = httpx.post(
            f"{base}/auth/token",
            data={"username": "sam.okafor@riverside.example.org", "password": DEMO_PASSWORD},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{base}/me", headers=headers).json()
        assert me["name"] == "Sam Okafor"
        [contact] = httpx.get(f"{base}/contacts", headers=headers).json()["items"]
        assert contact["state"] == "approved"
        assert contact["active"] is True
        states = sorted(p["state"] for p in contact["pupils"])
        assert states == ["active", "active", "awaiting_consent"]
        # The DSL signs in with the printed password and a code from the printed key.
        dsl = {"username": "dana.lewis@riverside.example.org", "password": DEMO_PASSWORD}
        needed = httpx.post(f"{base}/auth/token", data=dsl)
        assert needed.status_code == 401
        assert needed.json()["type"].endswith("second-factor-required")
        code = pyotp.TOTP(DEMO_TOTP_SECRET).now()
        signed = httpx.post(f"{base}/auth/token", data={**dsl, "otp": code})
        assert signed.status_code == 200
        assert signed.json()["enrol_only"] is False
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_command_line_loads_no_server_until_a_command_needs_it():
    """`contactlog --help` and the staff client's commands start in a fraction of a second:
    they load the command line, not the database layer, the app, the scheduler or Alembic."""
    import subprocess
    import sys

    probe = (
        "import sys, api.cli;"
        "heavy = sorted(m for m in ('sqlmodel', 'sqlalchemy', 'fastapi', 'alembic', 'apscheduler',"
        " 'api.app', 'scheduler', 'contacts', 'consent') if m in sys.modules);"
        "print(','.join(heavy))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"loaded before any command ran: {loaded}"


def test_sso_add_sets_up_a_trusts_single_sign_on_on_the_record(operator_env, world, db):
    secret = operator_env / "entra-secret"
    secret.write_text("a-client-secret\n")
    tenant = "5d1c2b7a-8e3f-4a60-9b1d-2c4e6f8a0b1a"
    base = ["sso", "add", "--trust", str(world.trust), "--provider", "microsoft"]
    made = runner.invoke(
        cli,
        [
            *base,
            *("--tenant", tenant, "--client-id", "app-id", "--secret-file", str(secret)),
            *("--domain", "A.example.org", "--domain", "@b.example.org"),
        ],
    )
    assert made.exit_code == 0, made.output
    assert "/auth/sso/microsoft/callback" in made.output
    again = runner.invoke(
        cli,
        [
            *base,
            *("--tenant", tenant, "--client-id", "app-id", "--secret-file", str(secret)),
            *("--domain", "a.example.org"),
        ],
    )
    assert again.exit_code == 1
    assert "already" in again.output
    unknown = runner.invoke(
        cli,
        [
            *("sso", "add", "--trust", str(world.trust), "--provider", "yahoo", "--tenant", "t"),
            *("--client-id", "c", "--secret-file", str(secret)),
        ],
    )
    assert unknown.exit_code == 1
    assert "provider" in unknown.output
    assert (
        runner.invoke(cli, ["sso", "passwords", "--trust", str(world.trust), "--off"]).exit_code
        == 0
    )
    listed = runner.invoke(cli, ["sso", "list"])
    assert "a.example.org,b.example.org" in listed.output
    assert "passwords off" in listed.output
    with db.engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action FROM audit_event WHERE action LIKE 'sso.%' ORDER BY seq")
        ).scalars()
        assert list(actions) == ["sso.connected", "sso.passwords_off"]
