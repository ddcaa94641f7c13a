"""Signed checkpoints: the DSLs receive them by email, and a change record recomputed by someone
with database access checks out by itself but fails against a checkpoint kept elsewhere."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from core import clock
from core.record import checkpoints
from core.record.models import AuditEvent
from scheduler.runner import run_job
from tests.support.builders import message, request_body
from tests.support.ground import assert_problem
from tests.support.mail import DSL, text
from tests.support.record import recompute_from


@pytest.fixture
def busy(client, world, school):  # type: ignore[no-untyped-def]
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    for n in range(3):
        client.post(f"/contacts/{cid}/messages", json=message(summary=f"note {n}"), headers=owner)
    return cid


def _emailed_checkpoint(mail_server) -> dict:  # type: ignore[no-untyped-def,type-arg]
    [email] = [m for m in mail_server.inbox.to(DSL) if "checkpoint" in str(m["Subject"])]
    return json.loads(re.split(r"----\r?\n", text(email))[1])


def test_dsls_receive_a_checkpoint_that_later_catches_a_recomputed_chain(
    client, world, db, busy, mail_settings, mail_server
):
    dsl = world.auth("dsl")
    run_job("checkpoint", db, mail_settings)
    run_job("outbox", db, mail_settings)
    kept = _emailed_checkpoint(mail_server)
    published = client.get("/audit/public-key", headers=dsl).json()
    assert published["key_id"] == kept["key_id"]
    check = {"checkpoint": kept, "public_key": published["public_key"]}
    assert client.post("/audit/checkpoints/verify", json=check, headers=dsl).json()["ok"] is True
    assert [c["seq"] for c in client.get("/audit/checkpoints", headers=dsl).json()] == [kept["seq"]]

    # An insider rewrites an old event and recomputes the whole chain.
    with db.transaction() as session:
        event = session.get(AuditEvent, 3)
        assert event is not None
        event.reason = "nothing to see here"
        session.add(event)
    recompute_from(db, 3)
    assert client.get("/audit/verify", headers=dsl).json()["ok"] is True  # checks out by itself
    verdict = client.post("/audit/checkpoints/verify", json=check, headers=dsl).json()
    assert verdict["ok"] is False
    assert "recomputed" in verdict["detail"]


def test_a_tampered_checkpoint_or_another_key_is_refused(client, world, db, busy, settings):
    dsl = world.auth("dsl")
    run_job("checkpoint", db, settings)
    [kept] = client.get("/audit/checkpoints", headers=dsl).json()
    published = client.get("/audit/public-key", headers=dsl).json()["public_key"]
    for forged in (
        {**kept, "seq": kept["seq"] - 1},
        {**kept, "payload": kept["payload"].replace(kept["link_hash"], "0" * 64)},
        {**kept, "signature": kept["signature"][::-1]},
    ):
        verdict = client.post(
            "/audit/checkpoints/verify",
            json={"checkpoint": forged, "public_key": published},
            headers=dsl,
        ).json()
        assert verdict["ok"] is False, forged
    other = checkpoints.public_pem(checkpoints.Ed25519PrivateKey.generate())
    verdict = client.post(
        "/audit/checkpoints/verify", json={"checkpoint": kept, "public_key": other}, headers=dsl
    ).json()
    assert verdict["ok"] is False
    assert "signature" in verdict["detail"]


def test_a_rotated_key_keeps_old_checkpoints_checkable(client, world, db, busy, settings, tmp_path):
    dsl = world.auth("dsl")
    run_job("checkpoint", db, settings)
    old_key = client.get("/audit/public-key", headers=dsl).json()["public_key"]
    rotated = settings.model_copy(update={"checkpoint_key_file": tmp_path / "new-key.pem"})
    client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
    run_job("checkpoint", db, rotated, clock.now() + timedelta(days=1))  # the next day
    newer, older = client.get("/audit/checkpoints", headers=dsl).json()
    assert newer["key_id"] != older["key_id"]
    for checkpoint, key in ((older, old_key), (newer, newer["public_key"])):
        verdict = client.post(
            "/audit/checkpoints/verify",
            json={"checkpoint": checkpoint, "public_key": key},
            headers=dsl,
        ).json()
        assert verdict["ok"] is True, verdict
    assert_problem(client.get("/audit/checkpoints", headers=world.auth("owner")), 403)


def test_the_command_line_checks_a_saved_checkpoint(
    client, world, db, busy, database_url, settings, tmp_path, monkeypatch
):
    monkeypatch.setenv("CONTACTLOG_DATABASE_URL", database_url)
    monkeypatch.setenv("CONTACTLOG_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "checkpoint"]).exit_code == 0
    key = runner.invoke(cli, ["audit", "public-key"]).output
    assert key.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "public-key.pem").write_text(key)
    [kept] = client.get("/audit/checkpoints", headers=world.auth("dsl")).json()
    (tmp_path / "checkpoint.json").write_text(json.dumps(kept))
    args = [
        "audit",
        "verify",
        "--against",
        str(tmp_path / "checkpoint.json"),
        "--public-key",
        str(tmp_path / "public-key.pem"),
    ]
    good = runner.invoke(cli, args)
    assert good.exit_code == 0
    assert json.loads(good.output)["ok"] is True
    with db.transaction() as session:
        event = session.get(AuditEvent, 2)
        assert event is not None
        event.reason = "edited"
        session.add(event)
    recompute_from(db, 2)
    assert runner.invoke(cli, args).exit_code == 1
    clock.set_clock(None)
