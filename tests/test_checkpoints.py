"""Signed checkpoints: each trust's DSLs are emailed their log's checkpoint daily, and a log
rewritten by someone with database access, every hash recomputed, checks out by itself but fails
against the checkpoint they kept; the command line checks a kept checkpoint, and one of the
hash chain the log replaced."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from api.cli import app as cli
from core import clock
from core.record import checkpoints
from core.record.models import AuditEvent
from scheduler.runner import run_job
from tests.support.mail import DSL, text
from tests.support.record import checked, recompute_from, rewrite_log


def _rewrite_event(db, seq: int) -> None:  # type: ignore[no-untyped-def]
    """An insider rewrites an old event, then recomputes the chain and the whole log."""
    with db.transaction() as session:
        event = session.get(AuditEvent, seq)
        assert event is not None
        event.reason = "nothing to see here"
        session.add(event)
    recompute_from(db, seq)
    rewrite_log(db, keep=lambda seq, newest: True, drop_checkpoints=True)


def test_dsls_are_emailed_a_checkpoint_that_later_catches_a_rewritten_log(
    client, world, db, busy, mail_settings, mail_server
):
    dsl = world.auth("dsl")
    run_job("checkpoint", db, mail_settings)
    run_job("outbox", db, mail_settings)
    [email] = [m for m in mail_server.inbox.to(DSL) if "Signed checkpoint" in str(m["Subject"])]
    body = text(email)
    note = re.split(r"----\r?\n", body)[1]
    log = client.get("/audit/log", headers=dsl).json()
    assert log["vkey"] in body  # the key to check it with, in the same email
    assert note.replace("\r\n", "\n") == log["latest"]["note"]
    assert f"({log['size']} events)" in str(email["Subject"])
    kept = {"note": note, "vkey": log["vkey"]}
    assert client.post("/audit/log/checkpoints/verify", json=kept, headers=dsl).json()["ok"]
    # A second run the same day sends nothing new: the checkpoint has not changed.
    run_job("checkpoint", db, mail_settings)
    run_job("outbox", db, mail_settings)
    assert sum("Signed checkpoint" in s for s in mail_server.inbox.subjects(DSL)) == 1

    _rewrite_event(db, 3)
    assert checked(client, dsl)["ok"] is True  # the chain agrees
    verdict = client.post("/audit/log/checkpoints/verify", json=kept, headers=dsl).json()
    assert verdict["ok"] is False
    assert "rewritten" in verdict["detail"]


def test_the_command_line_checks_a_kept_checkpoint_and_one_of_the_old_chain(
    client, world, db, busy, database_url, settings, tmp_path, monkeypatch
):
    monkeypatch.setenv("CONTACTLOG_DATABASE_URL", database_url)
    monkeypatch.setenv("CONTACTLOG_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    # A checkpoint of the hash chain, as the record kept them before the log.
    with db.transaction() as session:
        key = checkpoints.load_key(settings.checkpoint_key_path)
        chained = checkpoints.CheckpointPublic.model_validate(
            checkpoints.sign(session, key=key, at=clock.now()), from_attributes=True
        )
    (tmp_path / "checkpoint.json").write_text(chained.model_dump_json())
    (tmp_path / "public-key.pem").write_text(checkpoints.public_pem(key))
    made = runner.invoke(cli, ["audit", "checkpoint"])
    assert made.exit_code == 0
    assert "1 checkpoint(s) signed" in made.output
    [vkey] = runner.invoke(cli, ["audit", "vkey"]).output.splitlines()
    (tmp_path / "vkey.txt").write_text(vkey)
    note = client.get("/audit/log", headers=world.auth("dsl")).json()["latest"]["note"]
    (tmp_path / "checkpoint.txt").write_text(note)
    logged = ["audit", "verify", "--against", str(tmp_path / "checkpoint.txt")]
    logged += ["--vkey", str(tmp_path / "vkey.txt")]
    chain = ["audit", "verify", "--against", str(tmp_path / "checkpoint.json")]
    chain += ["--public-key", str(tmp_path / "public-key.pem")]
    for args in (logged, chain):
        good = runner.invoke(cli, args)
        assert good.exit_code == 0, good.output
        assert json.loads(good.output)["ok"] is True
    _rewrite_event(db, 2)
    for args in (logged, chain):
        assert runner.invoke(cli, args).exit_code == 1, args
    clock.set_clock(None)
