"""The evidence pack: what an investigator receives, checked by the verifier it ships (Python's
standard library and OpenSSL, nothing else) and by `contactlog audit verify-pack`: a file, an
event or a record altered, added or removed inside it is named, even with every hash and the
manifest recomputed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from contacts.oversight.pack_check import verify_pack
from scheduler.runner import run_job
from tests.support.builders import message, request_body
from tests.support.ground import assert_problem

INCIDENT = {
    "kind": "unsolicited_contact",
    "platform": "instagram",
    "occurred_at": "2026-01-10T19:30:00Z",
    "what_happened": "A friend request; not accepted.",
    "personal_information_shared": False,
}


@pytest.fixture
def story(client, world, school, db, settings):  # type: ignore[no-untyped-def]
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    for n in range(3):
        client.post(f"/contacts/{cid}/messages", json=message(summary=f"=note {n}"), headers=owner)
    client.post(
        "/incidents",
        json={**INCIDENT, "pupils": [{"pupil_id": school["young"], "part": "initiated"}]},
        headers=owner,
    )
    run_job("checkpoint", db, settings)
    return cid


def _unzip(content: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(content))


def test_a_dsl_exports_a_contacts_pack_anyone_can_check(client, world, story, tmp_path):
    response = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    pack = _unzip(response.content)
    names = set(pack.namelist())
    assert {
        "README.txt",
        "MANIFEST.sha256",
        "records/contacts.json",
        "records/messages.jsonl",
        "records/messages.csv",
        "events.jsonl",
        "checkpoint.txt",
        "vkey.txt",
        "verify.py",
        "MANIFEST.note",
    } <= names
    logged = [json.loads(line) for line in pack.read("records/messages.jsonl").splitlines()]
    assert [m["summary"] for m in logged] == ["=note 0", "=note 1", "=note 2"]
    assert b"'=note 0" in pack.read("records/messages.csv")  # no formula reaches a spreadsheet
    actions = [json.loads(line)["action"] for line in pack.read("events.jsonl").splitlines()]
    assert "contact.approved" in actions
    assert actions.count("message.logged") == 3

    # The standard tool over the manifest, and the pack's own verifier, run as a recipient
    # runs it: Python with no site packages (-S), the trust's key given on the command line.
    pack.extractall(tmp_path)
    checked = subprocess.run(
        ["sha256sum", "-c", "MANIFEST.sha256"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0
    assert "FAILED" not in checked.stdout
    vkey = client.get("/audit/log", headers=world.auth("dsl")).json()["vkey"]
    assert pack.read("vkey.txt").decode().splitlines() == [vkey]
    assert shutil.which("openssl"), "the pack's verifier needs OpenSSL"
    verified = subprocess.run(
        [sys.executable, "-I", "-S", "verify.py", "--vkey", vkey],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "The pack is as it was made." in verified.stdout
    events = [json.loads(line) for line in pack.read("events.jsonl").splitlines()]
    assert all(e["tlog_proof"].startswith("c2sp.org/tlog-proof@v1\n") for e in events)
    assert verify_pack(io.BytesIO(response.content)) == []
    # Making it is on the record.
    accesses = client.get(
        "/audit/events?action=access.evidence_pack", headers=world.auth("dsl")
    ).json()["items"]
    assert accesses
    assert accesses[0]["actor_id"] == world.ids["dsl"]


def test_a_pupils_pack_holds_their_incidents_and_contacts(client, world, school, story):
    response = client.get(f"/pupils/{school['young']}/evidence-pack", headers=world.auth("dsl"))
    pack = _unzip(response.content)
    assert len(json.loads(pack.read("records/incidents.json"))) == 1
    assert [c["id"] for c in json.loads(pack.read("records/contacts.json"))] == [story]


def test_a_pack_names_everyone_its_records_mention(client, world, school, story):
    """A LADO receiving a pack could not tell who anyone was: it held ids, no pupil or staff
    record, and its CSV had `staff_id` and `pupil_ids` only."""
    content = client.get(f"/pupils/{school['young']}/evidence-pack", headers=world.auth("dsl"))
    pack = _unzip(content.content)
    pupils = {p["id"]: p for p in json.loads(pack.read("records/pupils.json"))}
    assert pupils[school["young"]]["given_name"] == "Ava"
    assert "date_of_birth" in pupils[school["young"]]
    staff = {s["id"]: s for s in json.loads(pack.read("records/staff.json"))}
    assert staff[world.ids["owner"]]["name"] == "Owner"  # asked, logged and reported
    assert staff[world.ids["manager"]]["name"] == "Manager"  # decided
    assert not any("password_hash" in s or "token_generation" in s for s in staff.values())
    rows = list(csv.DictReader(io.StringIO(pack.read("records/messages.csv").decode())))
    assert {r["staff"] for r in rows} == {"Owner"}
    assert {r["platform"] for r in rows} == {"WhatsApp"}
    assert all("Ava T" in r["pupils"].split(";") for r in rows)
    # The people's records are checked like the rest: each is what an event sealed.
    sealed = [json.loads(line)["record"] for line in pack.read("records/sealed.jsonl").splitlines()]
    assert f"pupil:{school['young']}" in sealed
    assert f"staff:{world.ids['manager']}" in sealed
    assert verify_pack(io.BytesIO(content.content)) == []


def _manifest(files: dict[str, bytes]) -> bytes:
    """MANIFEST.sha256 made anew over the files, as a forger would."""
    return "".join(
        f"{hashlib.sha256(data).hexdigest()}  {n}\n"
        for n, data in files.items()
        if n not in ("MANIFEST.sha256", "MANIFEST.note")
    ).encode()


def _rezip(content: bytes, name: str, change, manifest_too: bool = False) -> bytes:  # type: ignore[no-untyped-def]
    source = _unzip(content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        files = {n: source.read(n) for n in source.namelist()}
        files[name] = change(files[name])
        if manifest_too:  # a careful forger rewrites the manifest as well
            files["MANIFEST.sha256"] = _manifest(files)
        for n, data in files.items():
            target.writestr(n, data)
    return out.getvalue()


NOT_SIGNED = "MANIFEST.note: the manifest is not the one the trust signed"


def test_an_altered_file_or_event_in_a_pack_is_caught(client, world, story, tmp_path):
    content = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content
    edited = _rezip(content, "records/messages.jsonl", lambda b: b.replace(b"note 1", b"note X"))
    assert verify_pack(io.BytesIO(edited)) == ["records/messages.jsonl: altered"]
    reworded = _rezip(
        content,
        "events.jsonl",
        lambda b: b.replace(b'"reason": null', b'"reason": "nothing to see"', 1),
        manifest_too=True,
    )
    problems = verify_pack(io.BytesIO(reworded))
    assert NOT_SIGNED in problems
    first = json.loads(_unzip(content).read("events.jsonl").splitlines()[0])["seq"]
    assert (
        f"events.jsonl: event {first}: altered (its fields are not what its hash says)" in problems
    )
    (tmp_path / "pack.zip").write_bytes(edited)
    result = CliRunner().invoke(cli, ["audit", "verify-pack", str(tmp_path / "pack.zip")])
    assert result.exit_code == 1
    assert "altered" in result.output
    (tmp_path / "good.zip").write_bytes(content)
    (tmp_path / "vkey.txt").write_text(
        client.get("/audit/log", headers=world.auth("dsl")).json()["vkey"]
    )
    good = [
        "audit",
        "verify-pack",
        str(tmp_path / "good.zip"),
        "--vkey",
        str(tmp_path / "vkey.txt"),
    ]
    assert CliRunner().invoke(cli, good).exit_code == 0


def _forge(content: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """What a careful holder of a pack does to make it say something else: each event `change`
    returns changed has its content hash recomputed, and every seal and the manifest made anew
    to match. Only the trust's key, and the log it signed, are out of reach."""
    from core.record import seals
    from core.record.pack_verifier import content_hash

    source = _unzip(content)
    files = {n: source.read(n) for n in source.namelist()}
    records = [json.loads(line) for line in files["records/sealed.jsonl"].splitlines()]
    events = [json.loads(line) for line in files["events.jsonl"].splitlines()]
    changed_records: dict[str, str] = {}
    for entry in records:
        before = json.dumps(entry, sort_keys=True)
        change(entry)
        if json.dumps(entry, sort_keys=True) != before:
            name = entry["record"].split(":")[0]
            changed_records[entry["record"]] = seals.digest(name, entry["content"])
    for event in events:
        sealed = event["details"].get("sealed", {})
        for record, seal in changed_records.items():
            if record in sealed:
                sealed[record] = seal
        change(event)
        event["content_hash"] = content_hash(event)
    files["records/sealed.jsonl"] = "".join(json.dumps(r) + "\n" for r in records).encode()
    files["events.jsonl"] = "".join(json.dumps(e) + "\n" for e in events).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        files["MANIFEST.sha256"] = _manifest(files)
        for n, data in files.items():
            target.writestr(n, data)
    return out.getvalue()


def test_a_summary_rewritten_with_every_hash_and_the_manifest_recomputed_is_named(
    client, world, story
):
    """Before: "The pack is as it was made." Now the rewritten message's seal is carried by an
    event the trust's log does not hold, and the manifest is not the one the trust signed."""
    content = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content
    assert verify_pack(io.BytesIO(content)) == []

    def reword(found: dict) -> None:  # type: ignore[type-arg]
        if found.get("record", "").startswith("message:") and "summary" in found["content"]:
            found["content"]["summary"] = found["content"]["summary"].replace("note 1", "note X")

    problems = verify_pack(io.BytesIO(_forge(content, reword)))
    assert NOT_SIGNED in problems
    assert any("altered or added (the trust's log does not hold it" in p for p in problems)
    # The record is then vouched for by no proven event.
    assert any(p.startswith("records/sealed.jsonl: message:") for p in problems), problems


def test_an_approver_changed_in_a_pack_is_named(client, world, story):
    content = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content

    def approver(found: dict) -> None:  # type: ignore[type-arg]
        if found.get("action") == "contact.approved":
            found["actor_id"] = world.ids["head"]

    problems = verify_pack(io.BytesIO(_forge(content, approver)))
    assert NOT_SIGNED in problems
    [event] = [p for p in problems if p.startswith("events.jsonl")]
    assert "the trust's log does not hold it as it is here" in event


def test_an_event_removed_from_a_pack_is_named(client, world, story):
    content = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content
    cut = _rezip(
        content,
        "events.jsonl",
        lambda b: b"".join(
            line + b"\n" for line in b.splitlines() if b"message.logged" not in line
        ),
        manifest_too=True,
    )
    problems = verify_pack(io.BytesIO(cut))
    assert problems[0] == NOT_SIGNED
    # Each message the removed events sealed is now vouched for by nothing in the pack.
    logged = [
        json.loads(m)["id"] for m in _unzip(content).read("records/messages.jsonl").splitlines()
    ]
    assert problems[1:] == [
        f"records/sealed.jsonl: message:{m} is sealed by no proven event" for m in logged
    ]


def test_a_pack_checked_with_another_trusts_key_is_refused(client, world, story):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from core.record import notes

    content = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content
    origin = client.get("/audit/log", headers=world.auth("dsl")).json()["origin"]
    other = notes.vkey(origin, Ed25519PrivateKey.generate().public_key())
    problems = verify_pack(io.BytesIO(content), [other])
    assert NOT_SIGNED in problems
    assert any("not signed by the trust's key" in p for p in problems)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("dsl", 200),
        ("trust_dsl", 200),
        ("owner", 403),
        ("manager", 403),
        ("admin", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_export_a_pack(client, world, story, who, status):
    response = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth(who))
    if status == 200:
        assert response.status_code == 200
    else:
        assert_problem(response, status)


def test_the_pack_notes_when_it_was_made(client, world, story):
    pack = _unzip(client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content)
    readme = pack.read("README.txt").decode()
    assert f"contact #{story}" in readme
    assert str(datetime.now(UTC).year) in readme


def test_the_pack_says_whose_record_it_is_by_name(client, world, school, story):
    """A LADO receiving a pack once read "This archive holds pupil #2"."""
    pupil = (
        _unzip(
            client.get(
                f"/pupils/{school['young']}/evidence-pack", headers=world.auth("dsl")
            ).content
        )
        .read("README.txt")
        .decode()
    )
    assert f"the record of Ava T, pupil #{school['young']} of A" in pupil
    contact = (
        _unzip(client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content)
        .read("README.txt")
        .decode()
    )
    assert "WhatsApp contact held by Owner" in contact


def test_the_pack_tells_what_happened_in_words_oldest_first(client, world, school, story):
    pack = _unzip(client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content)
    lines = pack.read("chronology.txt").decode().splitlines()
    assert lines[0].startswith(f"The chronology of the record of contact #{story}")
    told = "\n".join(lines[2:])
    assert "Approved by Manager" in told
    assert told.index("asked for") < told.index("Approved by Manager")  # oldest first
    assert "#" not in told  # people and records by name, not by number
    pupil = _unzip(
        client.get(f"/pupils/{school['young']}/evidence-pack", headers=world.auth("dsl")).content
    )
    # The incident, at the time it happened, in the school's time (January: GMT).
    assert "\n2026-01-10 19:30  Unsolicited" in pupil.read("chronology.txt").decode()


def test_a_record_resealed_by_a_migration_is_vouched_for_by_the_reseal(client, world, db, story):
    """A migration that changes what a record holds reseals it in an event of no one record
    (`seals.reseal`). Before: the pack held only the events about each record, so the verifier
    compared the record with an older seal and named it altered."""
    from sqlalchemy import text as sql

    from core import clock
    from core.principal import Principal
    from core.record import seals

    with db.transaction() as session:
        session.execute(sql("UPDATE message SET summary = 'as a migration rewrote it'"))
        seals.reseal(
            session, "message", actor=Principal.command_line(), at=clock.now(), why="migration"
        )
    content = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content
    assert verify_pack(io.BytesIO(content)) == []
    actions = [json.loads(e)["action"] for e in _unzip(content).read("events.jsonl").splitlines()]
    assert "records.sealed" in actions
