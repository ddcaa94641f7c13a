"""Subject access exports (§7): everything held about one pupil or one member of staff, for an
open request about them, with every other pupil and third party redacted; as JSON or as a ZIP
whose manifest checks; producing one is on the record."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest

from core import clock
from tests.support.builders import INCIDENT, dob, message, request_body, today
from tests.support.ground import assert_problem


def sar(client, world, whose: str, subject: int) -> int:  # type: ignore[no-untyped-def]
    body = {
        "subject_type": whose,
        "subject_id": subject,
        "requested_by": "The pupil's mother, by letter",
        "received_on": today().isoformat(),
    }
    made = client.post("/subject-access-requests", json=body, headers=world.auth("dsl"))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


@pytest.fixture
def three_pupils(client, world, school):  # type: ignore[no-untyped-def]
    """A contact about three pupils, a message about all three, and an incident about two."""
    admin, owner = world.auth("admin"), world.auth("owner")
    third = client.post(
        "/pupils",
        json={
            "given_name": "Zara",
            "family_name": "Q",
            "date_of_birth": dob(17),
            "school_reference": "Z1",
        },
        headers=admin,
    ).json()["id"]
    pupils = [school["young"], school["older"], third]
    cid = client.post(
        "/contacts", json=request_body(school, pupil_ids=pupils), headers=owner
    ).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    logged = client.post(
        f"/contacts/{cid}/messages",
        json=message(summary="Kit reminder for the squad", verbatim="Bring boots on Thursday"),
        headers=owner,
    )
    assert logged.status_code == 201, logged.text
    incident = {
        **INCIDENT,
        "other_person": "An adult stranger, username kitfan99",
        "pupils": [
            {"pupil_id": school["older"], "part": "received"},
            {"pupil_id": school["young"], "part": "witness"},
        ],
    }
    assert client.post("/incidents", json=incident, headers=owner).status_code == 201
    # The school phone's export of the squad's group chat.
    when = (clock.now() - timedelta(minutes=30)).strftime("%d/%m/%Y, %H:%M")
    chat = f"{when} - Ava T: Are we on?\n{when} - Coach: Yes, 4pm\n{when} - Noah F: ok\n"
    uploaded = client.post(
        "/captures",
        headers=owner,
        data={
            "platform": "whatsapp",
            "school_account": request_body(school)["school_account"],
            "source": "whatsapp_export",
            "school_name": "Coach",
            "names": json.dumps({"Ava T": school["young"], "Noah F": school["older"]}),
        },
        files={"file": ("WhatsApp Chat with U15 squad.txt", chat.encode())},
    )
    assert uploaded.status_code == 201, uploaded.text
    return {"contact": cid, "third": third}


def test_a_pupils_export_shows_the_other_pupils_only_as_another_pupil(
    client, world, school, three_pupils
):
    dsl = world.auth("dsl")
    request_id = sar(client, world, "pupil", school["older"])
    got = client.get(
        f"/pupils/{school['older']}/subject-access?request_id={request_id}", headers=dsl
    )
    assert got.status_code == 200, got.text
    document: dict[str, Any] = got.json()
    assert document["pupil"]["given_name"] == "Noah"
    [contact] = document["contacts"]
    assert contact["pupils"] == ["this pupil", "another pupil", "another pupil"]
    assert contact["staff"] == "Owner"
    assert contact["decided_by"] == "Manager"
    [logged] = document["messages"]
    assert logged["summary"] == "Kit reminder for the squad"
    assert logged["pupils"] == ["this pupil", "another pupil", "another pupil"]
    # What the platform captured with Noah in it: the coach's word to the group, and his own.
    captured = {c["direction"]: c for c in document["captured_messages"]}
    assert (captured["sent"]["content"], captured["received"]["content"]) == ("Yes, 4pm", "ok")
    assert captured["sent"]["pupils"] == ["this pupil", "another pupil"]
    assert len(document["captured_messages"]) == 2  # not Ava's own message
    [incident] = document["incidents"]
    assert incident["my_part"] == "received"
    assert incident["other_person"] == "[third party]"
    assert incident["pupils"] == ["this pupil", "another pupil"]
    text = json.dumps(document)
    for other in ("Ava", "Zara", "Claire", "kitfan99", '"Y1"', '"Z1"'):
        assert other not in text, other  # no other pupil, parent or third party by name
    for pupil_id in (school["young"], three_pupils["third"]):
        assert f'"pupil_id": {pupil_id}' not in text

    events = client.get("/audit/events?object_type=subject_access_request", headers=dsl).json()[
        "items"
    ]
    assert "access.subject_access_export" in {e["action"] for e in events}


def test_the_zip_holds_the_document_a_readme_and_a_manifest_that_checks(
    client, world, school, three_pupils
):
    request_id = sar(client, world, "pupil", school["young"])
    got = client.get(
        f"/pupils/{school['young']}/subject-access?request_id={request_id}",
        headers={**world.auth("dsl"), "Accept": "application/zip"},
    )
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(got.content))
    assert set(archive.namelist()) == {"README.txt", "subject-access.json", "MANIFEST.sha256"}
    for line in archive.read("MANIFEST.sha256").decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    document = json.loads(archive.read("subject-access.json"))
    assert document["pupil"]["given_name"] == "Ava"
    assert "Noah" not in json.dumps(document)


def test_a_staff_export_redacts_every_pupil(client, world, school, three_pupils):
    request_id = sar(client, world, "staff", world.ids["owner"])
    got = client.get(
        f"/staff/{world.ids['owner']}/subject-access?request_id={request_id}",
        headers=world.auth("dsl"),
    )
    assert got.status_code == 200, got.text
    document = got.json()
    assert document["staff"]["email"] == "owner@a.example.org"
    [held] = document["contacts_held"]
    assert held["pupils"] == ["a pupil", "a pupil", "a pupil"]
    assert [m["summary"] for m in document["messages_logged"]] == ["Kit reminder for the squad"]
    assert len(document["incidents_reported"]) == 1
    text = json.dumps(document)
    for pupil in ("Ava", "Noah", "Zara", "kitfan99"):
        assert pupil not in text, pupil
    manager_request = sar(client, world, "staff", world.ids["manager"])
    decided = client.get(
        f"/staff/{world.ids['manager']}/subject-access?request_id={manager_request}",
        headers=world.auth("dsl"),
    ).json()["decisions_made"]
    assert [d["id"] for d in decided] == [three_pupils["contact"]]


def test_an_export_needs_an_open_request_about_that_very_person(client, world, school):
    dsl = world.auth("dsl")
    path = f"/pupils/{school['older']}/subject-access"
    assert_problem(client.get(path, headers=dsl), 422)
    about_other = sar(client, world, "pupil", school["young"])
    assert_problem(client.get(f"{path}?request_id={about_other}", headers=dsl), 404)
    mine = sar(client, world, "pupil", school["older"])
    done = client.post(
        f"/subject-access-requests/{mine}/completion",
        json={"completed_on": today().isoformat()},
        headers=dsl,
    )
    assert done.status_code == 200, done.text
    assert_problem(client.get(f"{path}?request_id={mine}", headers=dsl), 409)


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 403), ("manager", 403), ("admin", 403), ("other_school", 404), (None, 401)],
)
def test_only_the_schools_dsl_produces_an_export(client, world, school, who, status):
    request_id = sar(client, world, "pupil", school["older"])
    path = f"/pupils/{school['older']}/subject-access?request_id={request_id}"
    assert_problem(client.get(path, headers=world.auth(who)), status)
