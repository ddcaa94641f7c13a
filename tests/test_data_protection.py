"""Data protection (§7): legal holds that a DSL places and releases, several on one record, all
kept; and leavers, whose part of every contact ends the day they leave."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock
from scheduler.runner import run_job
from tests.support.builders import request_body, today
from tests.support.ground import assert_problem
from tests.support.record import checked


def hold_on(school, case: str = "LADO/2026/7", subject_type: str = "pupil", subject=None):  # type: ignore[no-untyped-def]
    return {
        "subject_type": subject_type,
        "subject_id": subject if subject is not None else school["young"],
        "case_reference": case,
        "reason": "Allegation under investigation",
    }


def test_a_dsl_places_holds_and_releasing_one_leaves_the_other(client, world, school):
    dsl = world.auth("dsl")
    first = client.post("/legal-holds", json=hold_on(school), headers=dsl)
    assert first.status_code == 201, first.text
    placed = first.json()
    assert placed["active"] is True
    assert placed["placed_by_id"] == world.ids["dsl"]
    assert placed["subject_type"] == "pupil"
    assert placed["subject_id"] == school["young"]
    second = client.post("/legal-holds", json=hold_on(school, "POLICE/88"), headers=dsl).json()

    released = client.post(
        f"/legal-holds/{placed['id']}/release", json={"reason": "Case closed"}, headers=dsl
    )
    assert released.status_code == 200, released.text
    assert released.json()["active"] is False
    assert released.json()["released_by_id"] == world.ids["dsl"]
    assert released.json()["release_reason"] == "Case closed"
    again = client.post(
        f"/legal-holds/{placed['id']}/release", json={"reason": "again"}, headers=dsl
    )
    assert_problem(again, 409)

    active = client.get("/legal-holds?active_only=true", headers=dsl).json()["items"]
    assert [h["id"] for h in active] == [second["id"]]  # the other hold still holds the pupil
    every = client.get("/legal-holds", headers=dsl).json()["items"]
    assert [h["id"] for h in every] == [placed["id"], second["id"]]  # released ones are kept
    actions = [
        e["action"]
        for e in client.get("/audit/events?object_type=legal_hold", headers=dsl).json()["items"]
    ]
    assert actions == ["legal_hold.placed", "legal_hold.placed", "legal_hold.released"]
    verdict = checked(client, dsl)
    assert verdict["ok"] is True
    assert verdict["altered"] == []


def test_holds_go_on_a_member_of_staff_a_contact_or_an_incident(client, world, school):
    dsl, owner = world.auth("dsl"), world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    for subject_type, subject in (("staff", world.ids["owner"]), ("contact", cid)):
        made = client.post(
            "/legal-holds",
            json=hold_on(school, subject_type=subject_type, subject=subject),
            headers=dsl,
        )
        assert made.status_code == 201, made.text
    missing = client.post(
        "/legal-holds", json=hold_on(school, subject_type="incident", subject=999), headers=dsl
    )
    assert_problem(missing, 404, detail_contains="incident")


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 403), ("manager", 403), ("admin", 403), ("other_school", 404), (None, 401)],
)
def test_only_the_schools_dsl_holds_its_records(client, world, school, who, status):
    assert_problem(
        client.post("/legal-holds", json=hold_on(school), headers=world.auth(who)), status
    )
    assert client.get("/legal-holds", headers=world.auth("dsl")).json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject_type": "school"}, "subject_type"),
        ({"case_reference": ""}, "case_reference"),
        ({"reason": None}, "reason"),
        ({"placed_by_id": 1}, "placed_by_id"),
    ],
)
def test_a_bad_hold_is_refused_by_name(client, world, school, change, field):
    body = {**hold_on(school), **change}
    refused = assert_problem(client.post("/legal-holds", json=body, headers=world.auth("dsl")), 422)
    assert field in {e["field"] for e in refused["errors"]}


def test_a_trust_dsl_reads_every_schools_holds(client, world, school):
    client.post("/legal-holds", json=hold_on(school), headers=world.auth("dsl"))
    held = client.get("/legal-holds", headers=world.auth("trust_dsl")).json()["items"]
    assert len(held) == 1
    assert client.get("/legal-holds", headers=world.auth("other_school")).json()["items"] == []


# ---------------------------------------------------------------- leavers


def _approved_for_both(client, world, school) -> int:  # type: ignore[no-untyped-def]
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    return int(cid)


def test_a_leavers_part_of_every_contact_ends_the_day_they_leave(
    client, world, school, db, settings
):
    cid = _approved_for_both(client, world, school)
    admin, owner = world.auth("admin"), world.auth("owner")
    leaves = today() + timedelta(days=3)
    marked = client.patch(
        f"/pupils/{school['older']}", json={"left_on": leaves.isoformat()}, headers=admin
    )
    assert marked.status_code == 200, marked.text
    # The pupil has records: the leaving date waits for a second person, then applies.
    change = marked.json()["pending_change_id"]
    assert change is not None
    assert marked.json()["left_on"] is None
    done = client.post(f"/pending-changes/{change}/confirm", headers=world.auth("head"))
    assert done.status_code == 200, done.text
    shown = client.get(f"/pupils/{school['older']}", headers=admin).json()
    assert shown["left_on"] == leaves.isoformat()

    run_job("end_sweep", db, settings, clock.now() + timedelta(days=2))  # not yet left
    pupils = client.get(f"/contacts/{cid}", headers=owner).json()["pupils"]
    assert all(p["ended_at"] is None for p in pupils)

    run_job("end_sweep", db, settings, clock.now() + timedelta(days=3, hours=1))  # that day
    shown = client.get(f"/contacts/{cid}", headers=owner).json()
    parts = {p["pupil_id"]: p for p in shown["pupils"]}
    assert parts[school["older"]]["state"] == "ended"
    assert parts[school["older"]]["end_reason"] == "The pupil has left the school."
    assert parts[school["young"]]["ended_at"] is None  # the other pupil's part goes on
    assert shown["state"] == "approved"
    tasks = client.get("/deletion-tasks", headers=owner).json()["items"]
    assert [t["pupil_id"] for t in tasks] == [school["older"]]
    verdict = checked(client, world.auth("dsl"))
    assert verdict["ok"] is True
    assert verdict["altered"] == []


def test_a_leaving_date_before_birth_is_refused(client, world, school):
    refused = client.patch(
        f"/pupils/{school['older']}", json={"left_on": "1990-01-01"}, headers=world.auth("admin")
    )
    assert_problem(refused, 422, detail_contains="leaving date")
