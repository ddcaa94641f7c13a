"""The evidence pack: what an investigator receives, checked with standard tools (sha256sum,
openssl) and with `contactlog audit verify-pack`; a file altered inside it is caught."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
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
        "checkpoint.json",
        "checkpoint.sig",
        "public-key.pem",
    } <= names
    logged = [json.loads(line) for line in pack.read("records/messages.jsonl").splitlines()]
    assert [m["summary"] for m in logged] == ["=note 0", "=note 1", "=note 2"]
    assert b"'=note 0" in pack.read("records/messages.csv")  # no formula reaches a spreadsheet
    actions = [json.loads(line)["action"] for line in pack.read("events.jsonl").splitlines()]
    assert "contact.approved" in actions
    assert actions.count("message.logged") == 3

    # The standard tools: sha256sum over the manifest, openssl over the checkpoint's signature.
    pack.extractall(tmp_path)
    checked = subprocess.run(
        ["sha256sum", "-c", "MANIFEST.sha256"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0
    assert "FAILED" not in checked.stdout
    if shutil.which("openssl"):
        signed = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "public-key.pem",
                "-rawin",
                "-in",
                "checkpoint-payload.txt",
                "-sigfile",
                "checkpoint.sig",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert "Signature Verified Successfully" in signed.stdout, signed.stdout + signed.stderr
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


def _rezip(content: bytes, name: str, change, manifest_too: bool = False) -> bytes:  # type: ignore[no-untyped-def]
    import hashlib

    source = _unzip(content)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        files = {n: source.read(n) for n in source.namelist()}
        files[name] = change(files[name])
        if manifest_too:  # a careful forger rewrites the manifest as well
            files["MANIFEST.sha256"] = "".join(
                f"{hashlib.sha256(data).hexdigest()}  {n}\n"
                for n, data in files.items()
                if n != "MANIFEST.sha256"
            ).encode()
        for n, data in files.items():
            target.writestr(n, data)
    return out.getvalue()


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
    [problem] = verify_pack(io.BytesIO(reworded))
    assert problem.startswith("events.jsonl line 1")
    assert problem.endswith("altered")
    (tmp_path / "pack.zip").write_bytes(edited)
    result = CliRunner().invoke(cli, ["audit", "verify-pack", str(tmp_path / "pack.zip")])
    assert result.exit_code == 1
    assert "altered" in result.output
    (tmp_path / "good.zip").write_bytes(content)
    assert (
        CliRunner().invoke(cli, ["audit", "verify-pack", str(tmp_path / "good.zip")]).exit_code == 0
    )


def test_a_record_rewritten_with_its_manifest_is_caught_by_what_the_events_sealed(
    client, world, story
):
    content = client.get(f"/contacts/{story}/evidence-pack", headers=world.auth("dsl")).content
    sealed = [
        json.loads(line) for line in _unzip(content).read("records/sealed.jsonl").splitlines()
    ]
    kinds = {entry["record"].split(":")[0] for entry in sealed}
    assert {"contact", "message"} <= kinds
    assert verify_pack(io.BytesIO(content)) == []
    forged = _rezip(
        content,
        "records/sealed.jsonl",
        lambda b: b.replace(b"=note 1", b"=note X"),
        manifest_too=True,  # every digest in the manifest made anew
    )
    [problem] = verify_pack(io.BytesIO(forged))
    assert problem.startswith("records/sealed.jsonl: message:")
    assert "not what was sealed" in problem


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
