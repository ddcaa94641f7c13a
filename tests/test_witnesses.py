"""Witnesses, both ways (C2SP tlog-witness): contactlog as a witness for others answers each
submission as the protocol says (cosigned, 400, 403, 404, 409 with its size, 422), checking
and storing atomically; and a trust's log, submitted to a witness that is another deployment
across a real socket, gets cosigned checkpoints and packs, until an insider holding the
database and the signing key rewrites it: the witness refuses, and the DSLs are told."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import text as sql
from sqlmodel import select

from api.app import create_app
from contacts.oversight.pack_check import verify_pack
from core import clock
from core.record import checkpoints, merkle, notes, signer, witness
from core.record.models import Log, LogWitness
from scheduler.checkpointing import sign_now
from scheduler.runner import run_job
from tests.support.builders import message
from tests.support.mail import DSL
from tests.support.record import recompute_from, rewrite_log
from tests.support.servers import Server

ORIGIN = "logs.example.org/log/trust/7"


class OwnLog:
    """A log of its own leaves, signed with its own key: what a witness is submitted."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.vkey = notes.vkey(ORIGIN, self.key.public_key())
        self.leaves: list[bytes] = []

    def grow(self, n: int) -> None:
        self.leaves += [merkle.leaf_hash(f"{len(self.leaves) + i}".encode()) for i in range(n)]

    def checkpoint(self, key: Ed25519PrivateKey | None = None, root: bytes | None = None) -> str:
        size = len(self.leaves)
        text = notes.Checkpoint(ORIGIN, size, root or merkle.root(self.leaves)).text()
        return notes.sign(text, ORIGIN, key or self.key)

    def submission(
        self, old: int, note: str | None = None, proof: list[bytes] | None = None
    ) -> str:
        if proof is None:
            proof = merkle.consistency_proof(old, self.leaves) if 0 < old < len(self.leaves) else []
        lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
        return "\n".join(lines) + "\n\n" + (note or self.checkpoint())


@pytest.fixture
def as_witness(
    app, db, settings, tmp_path
) -> Iterator[tuple[TestClient, OwnLog, witness.Cosigner]]:  # type: ignore[no-untyped-def]
    log = OwnLog()
    (tmp_path / "witnessed.txt").write_text(f"# the trust's log\n{log.vkey}\n")
    witnessing = settings.model_copy(
        update={
            "witness_logs_file": tmp_path / "witnessed.txt",
            "witness_key_file": tmp_path / "witness-key.pem",
        }
    )
    key = checkpoints.load_key(witnessing.witness_key_path)
    cosigner = witness.read_cosigner(
        witness.cosigner_vkey(witnessing.witness_cosigner_name, key.public_key())
    )
    with TestClient(create_app(witnessing, db), raise_server_exceptions=False) as client:
        yield client, log, cosigner


def _add(client: TestClient, body: str) -> httpx.Response:
    return client.post("/witness/add-checkpoint", content=body.encode())


def test_a_witness_cosigns_only_what_extends_what_it_cosigned(as_witness):  # type: ignore[no-untyped-def]
    client, log, cosigner = as_witness
    log.grow(5)
    first = _add(client, log.submission(0))
    assert first.status_code == 200, first.text
    assert witness.cosigned_at(log.checkpoint() + first.text, cosigner) is not None
    log.grow(300)
    # Stale: the witness holds 5, and says so in the protocol's own format.
    stale = _add(client, log.submission(0))
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("text/x.tlog.size")
    assert stale.text == "5\n"
    grown = _add(client, log.submission(5))
    assert grown.status_code == 200, grown.text
    held = client.get(f"/witness/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint")
    assert held.status_code == 200
    assert held.text.startswith(f"{ORIGIN}\n305\n")
    assert witness.cosigned_at(held.text, cosigner) is not None


def test_a_witness_refuses_each_bad_submission_with_the_protocols_status(as_witness):  # type: ignore[no-untyped-def]
    client, log, _ = as_witness
    log.grow(10)
    assert _add(client, log.submission(0)).status_code == 200
    before = list(log.leaves)
    log.grow(10)
    other = Ed25519PrivateKey.generate()
    rewritten = OwnLog()
    rewritten.key, rewritten.leaves = log.key, [merkle.leaf_hash(b"x"), *log.leaves[1:]]
    foreign = notes.sign(
        notes.Checkpoint("elsewhere.example/log", 1, b"\0" * 32).text(),
        "elsewhere.example/log",
        other,
    )
    cases = [
        ("not a submission at all\n", 400),
        (log.submission(30), 400),  # old size beyond the checkpoint's
        (log.submission(10, note=log.checkpoint(key=other)), 403),  # not the log's key
        (log.submission(0, note=foreign), 404),  # not a log this witness witnesses
        (log.submission(3), 409),  # not the size it holds
        (rewritten.submission(10, proof=merkle.consistency_proof(10, rewritten.leaves)), 422),
        (log.submission(10, proof=[b"\1" * 32]), 422),  # a proof that does not verify
        (log.submission(10, note=_same(log, before).checkpoint(root=b"\2" * 32)), 422),
    ]
    for body, status in cases:
        assert _add(client, body).status_code == status, (status, body[:60])
    # None of it moved the witness: the honest next checkpoint is still cosigned from 10.
    assert _add(client, log.submission(10)).status_code == 200


def _same(log: OwnLog, leaves: list[bytes]) -> OwnLog:
    copy = OwnLog()
    copy.key, copy.leaves = log.key, list(leaves)
    return copy


def test_two_submissions_at_once_one_is_cosigned_the_other_told_the_size(as_witness, app):  # type: ignore[no-untyped-def]
    client, log, _ = as_witness
    log.grow(4)
    assert _add(client, log.submission(0)).status_code == 200
    log.grow(4)
    eight = log.submission(4)
    log.grow(4)
    twelve = log.submission(4)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def go(body: str) -> None:
        barrier.wait()
        statuses.append(_add(client, body).status_code)

    threads = [threading.Thread(target=go, args=(b,)) for b in (eight, twelve)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]


def test_a_deployment_that_witnesses_nobody_answers_404(client):  # type: ignore[no-untyped-def]
    assert client.post("/witness/add-checkpoint", content=b"old 0\n\nx\n").status_code == 404


# ---------------------------------------------------------------- two deployments


def witness_server(folder: Path, log_vkey: str) -> tuple[Server, str]:
    """Another contactlog deployment, with its own database, running `contactlog witness
    serve` for the log of `log_vkey`: the server, and the witness's verifier key."""
    folder.mkdir()
    (folder / "witnessed.txt").write_text(log_vkey + "\n")
    server = Server(
        f"sqlite:///{folder / 'witness.db'}",
        str(folder),
        command=("witness", "serve"),
        env={
            "CONTACTLOG_WITNESS_LOGS_FILE": str(folder / "witnessed.txt"),
            "CONTACTLOG_WITNESS_NAME": "la.example.gov.uk/witness",
        },
    )
    server.cli("migrate")
    vkey = server.cli("witness", "vkey").strip()
    server.start()
    return server, vkey


def test_a_log_rewritten_and_resigned_with_the_real_key_is_refused_by_its_witness(
    client, world, db, busy, mail_settings, mail_server, tmp_path
):
    dsl = world.auth("dsl")
    sign_now(db, mail_settings, clock.now())
    log = client.get("/audit/log", headers=dsl).json()
    server, witness_vkey = witness_server(tmp_path / "witness", log["vkey"])
    witness_url = f"{server.url}/witness"
    try:
        with db.transaction() as session:
            [log_id] = session.exec(select(Log.id)).all()
            named = "la.example.gov.uk/witness"
            session.add(LogWitness(log_id=log_id, name=named, vkey=witness_vkey, url=witness_url))
        assert run_job("witness", db, mail_settings) == 1
        cosigner = witness.read_cosigner(witness_vkey)
        latest = client.get("/audit/log", headers=dsl).json()["latest"]["note"]
        assert witness.cosigned_at(latest, cosigner) is not None
        # A pack made now is cosigned too, and checks out against the witness's key.
        client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
        pack = client.get(f"/contacts/{busy}/evidence-pack", headers=dsl)
        assert pack.status_code == 200
        assert verify_pack(io.BytesIO(pack.content), [log["vkey"]], [witness_vkey]) == []
        # The insider with the database and the key: an event rewritten, the log rebuilt,
        # every checkpoint and the signer's memory deleted, and the log signed again.
        with db.transaction() as session:
            session.execute(sql("UPDATE audit_event SET reason = 'nothing' WHERE seq = 3"))
        recompute_from(db, 3)
        rewrite_log(db, keep=lambda seq, newest: True, drop_checkpoints=True)
        signer.Memory(mail_settings.checkpoint_key_path).path.unlink()
        assert sign_now(db, mail_settings, clock.now()) == 1  # the key signs what it is shown
        assert run_job("witness", db, mail_settings) == 0  # but the witness will not cosign it
        run_job("outbox", db, mail_settings)
        assert any("A witness REFUSED" in s for s in mail_server.inbox.subjects(DSL))
        # Every later checkpoint is refused too, and the DSLs are told once, not each time.
        client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
        assert sign_now(db, mail_settings, clock.now()) == 1
        assert run_job("witness", db, mail_settings) == 0
        run_job("outbox", db, mail_settings)
        assert sum("A witness REFUSED" in s for s in mail_server.inbox.subjects(DSL)) == 1
        # Nor will a pack made now check out against the witness.
        forged = client.get(f"/contacts/{busy}/evidence-pack", headers=dsl)
        problems = verify_pack(io.BytesIO(forged.content), [log["vkey"]], [witness_vkey])
        assert any("not cosigned by the witness la.example.gov.uk/witness" in p for p in problems)
    finally:
        server.stop()


def test_a_witness_is_added_from_the_command_line_once(
    client, world, db, busy, settings, database_url, monkeypatch
):
    from typer.testing import CliRunner

    from api.cli import app as cli

    monkeypatch.setenv("CONTACTLOG_DATABASE_URL", database_url)
    monkeypatch.setenv("CONTACTLOG_DATA_DIR", str(settings.data_dir))
    sign_now(db, settings, clock.now())
    key = Ed25519PrivateKey.generate()
    vkey = witness.cosigner_vkey("la.example.gov.uk/witness", key.public_key())
    args = ["audit", "add-witness", "--trust", str(world.trust), "--vkey", vkey]
    args += ["--url", "https://la.example.gov.uk/witness"]
    added = CliRunner().invoke(cli, args)
    assert added.exit_code == 0, added.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2
    assert "already witnesses" in again.output
    listed = client.get("/audit/log", headers=world.auth("dsl")).json()["witnesses"]
    assert [w["name"] for w in listed] == ["la.example.gov.uk/witness"]
    # A log's own key is not a witness's.
    log_key = notes.vkey("la.example.gov.uk/witness", key.public_key())
    wrong = CliRunner().invoke(cli, [*args[:5], log_key, *args[6:]])
    assert wrong.exit_code == 2
