"""The change record as a verifiable log: each trust's events in a Merkle tree whose signed
checkpoints, inclusion and consistency proofs and published tiles anyone can check with the
trust's verifier key and nothing else; and the signer, which refuses to sign a log that was cut
or rewritten, and says so to the DSLs."""

from __future__ import annotations

import base64
import struct
from datetime import timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import text as sql
from sqlmodel import select

from core import clock
from core.record import audit, checkpoints, merkle, notes, signer
from core.record.models import AuditEvent, Log
from core.record.tiles import Tiles, entry
from scheduler.checkpointing import SIGN_EVERY, sign_now
from scheduler.runner import run_job
from tests.support.builders import message, other_trust
from tests.support.ground import assert_problem
from tests.support.mail import DSL
from tests.support.record import checked, recompute_from, rewrite_log


def _entries(db, trust_id: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    """The trust's log's entries as an outsider recomputes them, from the events' own fields."""
    with db.session() as session:
        events = session.exec(sql("SELECT * FROM audit_event ORDER BY seq")).all()
        schools = dict(session.exec(sql("SELECT id, trust_id FROM school")).all())
    return [
        entry(e.seq, audit.content_hash_of(_typed(db, e.seq)))
        for e in events
        if schools.get(e.school_id) == trust_id
        or (e.object_type == "trust" and e.object_id == trust_id)
    ]


def _typed(db, seq: int) -> AuditEvent:  # type: ignore[no-untyped-def]
    with db.session() as session:
        found = session.get(AuditEvent, seq)
        assert found is not None
        return found


def _trusted(log: dict) -> notes.Verifier:  # type: ignore[type-arg]
    return notes.read_vkey(log["vkey"])


def test_every_event_joins_its_trusts_log_and_its_checkpoint_checks_out(
    client, world, db, busy, settings
):
    dsl = world.auth("dsl")
    run_job("log", db, settings)
    log = client.get("/audit/log", headers=dsl).json()
    leaves = _entries(db, world.trust)
    assert log["size"] == len(leaves) > 5
    assert log["origin"].endswith(f"/log/trust/{world.trust}")
    assert log["problem"] is None
    # The checkpoint, checked with nothing but the verifier key: the root is the events' tree.
    text, _ = notes.verify(log["latest"]["note"], [_trusted(log)])
    signed = notes.read_checkpoint(text)
    assert (signed.origin, signed.size) == (log["origin"], len(leaves))
    assert signed.root == merkle.root([merkle.leaf_hash(e) for e in leaves])
    # The same checkpoint and tiles, for anyone, without signing in.
    public = client.get(f"/log/trust/{world.trust}/checkpoint")
    assert public.status_code == 200
    assert public.text == log["latest"]["note"]
    width = len(leaves)
    tile = client.get(f"/log/trust/{world.trust}/tile/0/000.p/{width}")
    assert tile.status_code == 200
    assert tile.headers["content-type"] == "application/octet-stream"
    assert tile.content == b"".join(merkle.leaf_hash(e) for e in leaves)
    bundle = client.get(f"/log/trust/{world.trust}/tile/entries/000.p/{width}").content
    found, at = [], 0
    while at < len(bundle):
        (length,) = struct.unpack(">H", bundle[at : at + 2])
        found.append(bundle[at + 2 : at + 2 + length])
        at += 2 + length
    assert found == leaves
    # Tiles the log does not have are not found; nor is a malformed path.
    for missing in ("0/000", f"0/000.p/{width + 1}", "1/000.p/1", "0/x000/001", "0/1"):
        assert client.get(f"/log/trust/{world.trust}/tile/{missing}").status_code == 404, missing
    assert client.get("/log/trust/999/checkpoint").status_code == 404


def test_an_events_proof_is_checked_offline_against_the_signed_checkpoint(
    client, world, db, busy, settings
):
    dsl = world.auth("dsl")
    run_job("log", db, settings)
    log = client.get("/audit/log", headers=dsl).json()
    [*_, last] = client.get("/audit/events", headers=dsl).json()["items"]
    proof = client.get(f"/audit/events/{last['seq']}/proof", headers=dsl)
    assert proof.status_code == 200, proof.text
    head, note = proof.text.split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    index = int(lines[1].removeprefix("index "))
    path = [base64.b64decode(line) for line in lines[2:]]
    text, _ = notes.verify(note, [_trusted(log)])
    signed = notes.read_checkpoint(text)
    leaf = merkle.leaf_hash(entry(last["seq"], audit.content_hash_of(_typed(db, last["seq"]))))
    merkle.verify_inclusion(index, signed.size, leaf, path, signed.root)
    # Another school's DSL is not told whether the event exists; an owner may not ask.
    assert_problem(
        client.get(f"/audit/events/{last['seq']}/proof", headers=world.auth("other_school")), 404
    )
    assert_problem(
        client.get(f"/audit/events/{last['seq']}/proof", headers=world.auth("owner")), 403
    )


def test_an_event_not_yet_signed_has_no_proof_until_the_log_takes_it_in(
    client, world, db, busy, settings
):
    dsl = world.auth("dsl")
    run_job("log", db, settings)
    client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
    [*_, newest] = client.get("/audit/events", headers=dsl).json()["items"]
    assert_problem(client.get(f"/audit/events/{newest['seq']}/proof", headers=dsl), 409)
    # Within minutes the log job signs it; on demand, at once.
    assert sign_now(db, settings, clock.now()) == 1
    assert client.get(f"/audit/events/{newest['seq']}/proof", headers=dsl).status_code == 200


def test_a_log_is_signed_every_few_minutes_while_it_grows_and_not_when_it_does_not(
    client, world, db, busy, settings
):
    dsl = world.auth("dsl")
    at = clock.now()
    assert run_job("log", db, settings, at) == 1
    assert run_job("log", db, settings, at + timedelta(seconds=10)) == 0  # nothing new
    client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
    assert run_job("log", db, settings, at + timedelta(seconds=20)) == 0  # signed moments ago
    assert run_job("log", db, settings, at + SIGN_EVERY + timedelta(seconds=1)) == 1
    older, newer = sorted(
        c["size"] for c in client.get("/audit/log/checkpoints", headers=dsl).json()
    )
    # A consistency proof between the two, checked against their signed roots.
    kept = {c["size"]: c for c in client.get("/audit/log/checkpoints", headers=dsl).json()}
    log = client.get("/audit/log", headers=dsl).json()
    roots = {
        size: notes.read_checkpoint(notes.verify(kept[size]["note"], [_trusted(log)])[0]).root
        for size in (older, newer)
    }
    proof = client.get(f"/audit/log/consistency?old_size={older}&size={newer}", headers=dsl).json()
    merkle.verify_consistency(
        older, newer, [base64.b64decode(h) for h in proof["proof"]], roots[older], roots[newer]
    )
    assert_problem(
        client.get(f"/audit/log/consistency?old_size={newer}&size={older}", headers=dsl), 422
    )
    assert_problem(
        client.get(f"/audit/log/consistency?old_size=1&size={newer + 5}", headers=dsl), 404
    )


def test_a_kept_checkpoint_stays_good_while_the_log_only_grows(client, world, db, busy, settings):
    dsl = world.auth("dsl")
    sign_now(db, settings, clock.now())
    log = client.get("/audit/log", headers=dsl).json()
    kept = {"note": log["latest"]["note"], "vkey": log["vkey"]}
    client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
    sign_now(db, settings, clock.now())
    verdict = client.post("/audit/log/checkpoints/verify", json=kept, headers=dsl).json()
    assert verdict["ok"] is True, verdict
    # A note altered, or checked with another log's key, is not vouched for.
    forged = {**kept, "note": kept["note"].replace(f"\n{log['size']}\n", f"\n{log['size'] - 1}\n")}
    assert (
        client.post("/audit/log/checkpoints/verify", json=forged, headers=dsl).json()["ok"] is False
    )
    assert_problem(
        client.post(
            "/audit/log/checkpoints/verify", json={**kept, "vkey": "nonsense"}, headers=dsl
        ),
        422,
    )


def test_a_rotated_key_keeps_old_checkpoints_checkable_and_the_signer_going(
    client, world, db, busy, settings, tmp_path
):
    dsl = world.auth("dsl")
    sign_now(db, settings, clock.now())
    old = client.get("/audit/log", headers=dsl).json()
    rotated = settings.model_copy(update={"checkpoint_key_file": tmp_path / "new-key.pem"})
    (tmp_path / "new-key.pem.signed.json").write_bytes(
        settings.checkpoint_key_path.with_name(
            settings.checkpoint_key_path.name + ".signed.json"
        ).read_bytes()
    )
    client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
    assert sign_now(db, rotated, clock.now()) == 1  # not refused: the old key signed the last
    new = client.get("/audit/log/checkpoints", headers=dsl).json()[0]
    with db.session() as session:
        log = session.exec(select(Log)).one()
        new_vkey = signer.vkey(log, checkpoints.load_key(rotated.checkpoint_key_path))
    assert new_vkey != old["vkey"]
    for note, vkey in ((old["latest"]["note"], old["vkey"]), (new["note"], new_vkey)):
        body = {"note": note, "vkey": vkey}
        verdict = client.post("/audit/log/checkpoints/verify", json=body, headers=dsl).json()
        assert verdict["ok"] is True, verdict
    # The old key does not vouch for what the new one signed.
    body = {"note": new["note"], "vkey": old["vkey"]}
    assert (
        client.post("/audit/log/checkpoints/verify", json=body, headers=dsl).json()["ok"] is False
    )


# ---------------------------------------------------------------- what an insider does


def _refusals(mail_server) -> list[str]:  # type: ignore[no-untyped-def]
    return [s for s in mail_server.inbox.subjects(DSL) if "No checkpoint signed" in s]


def test_a_tail_cut_after_a_checkpoint_is_refused_even_with_the_checkpoints_deleted(
    client, world, db, busy, mail_settings, mail_server
):
    sign_now(db, mail_settings, clock.now())
    run_job("log", db, mail_settings)  # the signer remembers what it signed
    with db.session() as session:
        signed = session.exec(sql("SELECT size FROM log")).scalar_one()
    # The insider cuts the last two events, rebuilds the log without them, and deletes every
    # checkpoint that would show it: the database now tells a consistent, shorter story.
    rewrite_log(db, keep=lambda seq, total: seq <= total - 2, drop_checkpoints=True)
    client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
    assert sign_now(db, mail_settings, clock.now() + timedelta(hours=1)) == 0
    run_job("outbox", db, mail_settings, clock.now() + timedelta(hours=1))
    [refused] = _refusals(mail_server)
    log = client.get("/audit/log", headers=world.auth("dsl")).json()
    assert log["problem"] is not None
    assert f"{signed}" in log["problem"], log["problem"]
    assert "signer's own record" in log["problem"], log["problem"]
    assert refused
    # The log goes on growing while it stays refused, and the finding's words with it: still
    # one alert, not one for every run of the log job.
    for minutes in (10, 20):
        client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
        run_job("log", db, mail_settings, clock.now() + timedelta(minutes=minutes))
    run_job("outbox", db, mail_settings, clock.now() + timedelta(hours=1))
    assert len(_refusals(mail_server)) == 1


def test_an_event_rewritten_with_the_log_recomputed_is_refused(
    client, world, db, busy, mail_settings, mail_server
):
    sign_now(db, mail_settings, clock.now())
    run_job("log", db, mail_settings)
    with db.transaction() as session:
        event = session.get(AuditEvent, 3)
        assert event is not None
        event.reason = "nothing to see here"
        session.add(event)
    recompute_from(db, 3)
    rewrite_log(db, keep=lambda seq, total: True, drop_checkpoints=False)
    assert sign_now(db, mail_settings, clock.now()) == 0
    run_job("outbox", db, mail_settings)
    assert _refusals(mail_server)
    problem = client.get("/audit/log", headers=world.auth("dsl")).json()["problem"]
    assert "rewritten" in problem, problem


def test_a_checkpoint_edited_in_the_database_is_named(
    client, world, db, busy, mail_settings, mail_server
):
    sign_now(db, mail_settings, clock.now())
    with db.transaction() as session:
        session.execute(
            sql("UPDATE log_checkpoint SET note = replace(note, '\u2014 ', '\u2014 x')")
        )
    client.post(f"/contacts/{busy}/messages", json=message(), headers=world.auth("owner"))
    assert sign_now(db, mail_settings, clock.now()) == 0
    problem = client.get("/audit/log", headers=world.auth("dsl")).json()["problem"]
    assert "not one the signer signed" in problem, problem


def test_an_event_edited_before_it_joins_the_log_stops_the_log_and_is_named(
    client, world, db, busy, mail_settings, mail_server
):
    with db.transaction() as session:
        session.execute(sql("UPDATE audit_event SET reason = 'edited' WHERE seq = 4"))
    sign_now(db, mail_settings, clock.now())
    with db.session() as session:
        assert session.exec(sql("SELECT seq FROM log_cursor")).scalar_one() == 3
    run_job("outbox", db, mail_settings)
    assert _refusals(mail_server)


# ---------------------------------------------------------------- tiles against the tree itself


@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=4))
@hsettings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_tiles_give_the_roots_and_proofs_of_the_tree_itself(app, db, batches):
    """Leaves appended in batches of any size: every root, inclusion and consistency proof
    read from the tiles is the RFC 9162 tree's."""
    leaves: list[bytes] = []
    with db.transaction() as session:
        session.execute(sql("DELETE FROM log_tile"))
        session.execute(sql("DELETE FROM log_leaf"))
        session.execute(sql("DELETE FROM log_checkpoint"))
        session.execute(sql("DELETE FROM log"))
        log = Log(origin="example.org/log/test", root=merkle.EMPTY_ROOT, created_at=clock.now())
        session.add(log)
        session.flush()
        assert log.id is not None
        size = 0
        for n in batches:
            tiles = Tiles(session, log.id)
            new = [merkle.leaf_hash(f"{len(leaves) + i}".encode()) for i in range(n)]
            size = tiles.append(size, new)
            tiles.flush()
            leaves += new
            fresh = Tiles(session, log.id)  # as read back from the database
            assert fresh.root(size) == merkle.root(leaves)
            for index in {0, size // 2, size - 1}:
                assert merkle.inclusion_path(index, size, fresh.subtree) == merkle.inclusion_proof(
                    index, leaves
                )
            for old in {1, size // 3, size - 1}:
                if 0 < old < size:
                    assert merkle.consistency_path(old, size, fresh.subtree) == (
                        merkle.consistency_proof(old, leaves)
                    )


def test_an_old_event_rewritten_with_its_chain_recomputed_is_named_by_the_full_check(
    client, world, db, busy, mail_settings, mail_server
):
    """Before: the hourly check walked the chain against itself, so an event rewritten with
    every link after it recomputed passed and the dashboard stayed green. Now each event is
    compared with the leaf its trust's log holds for it."""
    sign_now(db, mail_settings, clock.now())
    with db.transaction() as session:
        event = session.get(AuditEvent, 3)
        assert event is not None
        event.reason = "nothing to see here"
        session.add(event)
    recompute_from(db, 3)
    dsl = world.auth("dsl")
    found = checked(client, dsl)
    assert found["ok"] is False
    assert found["first_bad"] == 3
    assert "event #3 is not the one its leaf" in found["problem"]
    run_job("outbox", db, mail_settings)  # the check's alert, made as it finished
    assert any("does NOT verify" in s for s in mail_server.inbox.subjects(DSL))


def test_events_moved_before_they_join_the_log_are_refused(client, world, db, busy, settings):
    """Two events swapped in the database before the log took them in: each one's content
    still matches its hash, but not its place, so neither joins and the check names it."""
    with db.transaction() as session:
        session.execute(sql("UPDATE audit_event SET seq = 100000 WHERE seq = 5"))
        session.execute(sql("UPDATE audit_event SET seq = 5 WHERE seq = 6"))
        session.execute(sql("UPDATE audit_event SET seq = 6 WHERE seq = 100000"))
    sign_now(db, settings, clock.now())
    with db.session() as session:
        assert session.exec(sql("SELECT seq FROM log_cursor")).scalar_one() == 4
    found = checked(client, world.auth("dsl"))
    assert found["first_bad"] == 5
    assert "order was changed" in found["problem"]


def test_each_trust_is_told_of_its_own_log_and_records_only(
    client, world, db, busy, mail_settings, mail_server, passwords
):
    """Before: the full check's alert went to the DSLs of every school in the deployment, and
    every DSL's /audit/verify named the first bad event of whichever trust's log it was in."""
    elsewhere = other_trust(db, mail_settings, passwords)
    sign_now(db, mail_settings, clock.now())
    with db.transaction() as session:
        session.execute(sql("UPDATE audit_event SET reason = 'nothing' WHERE seq = 3"))
    assert run_job("chain_check", db, mail_settings) == 1
    run_job("outbox", db, mail_settings)
    assert any("does NOT verify" in s for s in mail_server.inbox.subjects(DSL))
    assert mail_server.inbox.subjects(elsewhere.dsl_email) == []
    ours = checked(client, world.auth("dsl"))
    assert "event #3" in ours["problem"]
    theirs = checked(client, {"Authorization": f"Bearer {elsewhere.dsl_token}"})
    assert (theirs["problem"], theirs["first_bad"]) == (None, None)
