"""A monitor outside the trust checks the log with a standard client: Go's own transparency-log
packages (golang.org/x/mod/sumdb/note and sumdb/tlog, the checksum database's, from Debian),
over HTTP against a running server. It opens the checkpoint with the trust's verifier key,
reads every tile the tree needs (each checked against the root) and every entry bundle, and
proves each entry in the tree; a tile rewritten in the database is caught. Go is required in
CI; elsewhere a missing Go skips these with a loud warning."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from core import clock
from scheduler.checkpointing import sign_now
from tests.support.builders import message
from tests.support.ground import IN_CI

SOURCE = Path(__file__).parent / "support" / "tlog_monitor"
GOPATH = "/usr/share/gocode"  # where Debian's golang-golang-x-mod-dev puts x/mod


@pytest.fixture(scope="module")
def monitor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not (Path(GOPATH) / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        problem = "go or x/mod not found (apt-get install golang-go golang-golang-x-mod-dev)"
        if IN_CI:
            pytest.fail(f"The standard tlog client is required in CI: {problem}")
        pytest.skip(f"Monitor tests SKIPPED: {problem}")
    built = tmp_path_factory.mktemp("monitor")
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": GOPATH,
        "GOCACHE": str(built / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run(
        [go, "build", "-o", str(built / "monitor"), "."], cwd=SOURCE, env=env, check=True
    )
    return built / "monitor"


def _watched(monitor: Path, live_server: str, trust: int, vkey: str) -> tuple[int, str]:
    done = subprocess.run(
        [str(monitor), f"{live_server}/log/trust/{trust}", vkey],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout.strip()


def test_a_monitor_with_go_s_own_client_checks_every_entry(
    monitor, live_server, client, world, school, db, settings
):
    from tests.support.builders import approved_contact

    cid = approved_contact(client, world, school)
    for n in range(300):  # past one tile: two of leaves, one above them, partial tiles
        client.post(
            f"/contacts/{cid}/messages",
            json=message(summary=f"note {n}"),
            headers=world.auth("owner"),
        )
    sign_now(db, settings, clock.now())
    log = client.get("/audit/log", headers=world.auth("dsl")).json()
    assert log["size"] > 300
    code, said = _watched(monitor, live_server, world.trust, log["vkey"])
    assert (code, said) == (0, f"ok {log['size']}"), said


def test_the_monitor_catches_a_tile_rewritten_in_the_database(
    monitor, live_server, client, world, school, db, settings
):
    from tests.support.builders import approved_contact

    cid = approved_contact(client, world, school)
    for n in range(5):
        client.post(
            f"/contacts/{cid}/messages",
            json=message(summary=f"note {n}"),
            headers=world.auth("owner"),
        )
    sign_now(db, settings, clock.now())
    vkey = client.get("/audit/log", headers=world.auth("dsl")).json()["vkey"]
    assert _watched(monitor, live_server, world.trust, vkey)[0] == 0
    with db.engine.begin() as conn:  # one leaf's hash changed in the trust's tile
        tile = conn.execute(
            text(
                "SELECT t.log_id, t.hashes FROM log_tile t JOIN log l ON l.id = t.log_id "
                "WHERE l.trust_id = :t AND t.level = 0 AND t.number = 0"
            ),
            {"t": world.trust},
        ).one()
        forged = bytes([tile.hashes[0] ^ 1]) + bytes(tile.hashes[1:])
        conn.execute(
            text("UPDATE log_tile SET hashes = :h WHERE log_id = :l AND level = 0 AND number = 0"),
            {"h": forged, "l": tile.log_id},
        )
    code, said = _watched(monitor, live_server, world.trust, vkey)
    assert code == 1
    assert "inconsistent" in said or "entry 0" in said, said


def test_the_monitor_refuses_a_checkpoint_the_trusts_key_did_not_sign(
    monitor, live_server, client, world, busy, db, settings
):
    """Someone holding the database and another key, re-signing: the key kept outside says no."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from core.record import notes

    sign_now(db, settings, clock.now())
    origin = client.get("/audit/log", headers=world.auth("dsl")).json()["origin"]
    theirs = notes.vkey(origin, Ed25519PrivateKey.generate().public_key())
    code, said = _watched(monitor, live_server, world.trust, theirs)
    assert code == 1
    assert "signature" in said, said
