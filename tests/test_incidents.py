"""Incidents (§5.2, §4.2): reported by any member of staff, read by their manager and the DSL,
discussed by the reporter's line manager or headteacher."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.builders import INCIDENT
from tests.support.ground import assert_problem, count_rows


def test_an_incident_is_reported_and_discussed(client, world, school, db):
    body = {**INCIDENT, "pupils": [{"pupil_id": school["young"], "part": "initiated"}]}
    reported = client.post("/incidents", json=body, headers=world.auth("owner"))
    assert reported.status_code == 201, reported.text
    incident = reported.json()
    assert incident["open"] is True
    assert incident["reporter_id"] == world.ids["owner"]
    assert incident["pupils"] == [{"pupil_id": school["young"], "part": "initiated"}]
    assert count_rows(db, "alert") == 1  # the line manager and DSL are emailed by the scheduler
    discussion = {
        "discussed_at": datetime.now(UTC).isoformat(),
        "outcome": "Advised; logged.",
        "parent_involved": True,
    }
    assert_problem(
        client.post(
            f"/incidents/{incident['id']}/discussion", json=discussion, headers=world.auth("dsl")
        ),
        403,
    )
    done = client.post(
        f"/incidents/{incident['id']}/discussion", json=discussion, headers=world.auth("manager")
    )
    assert done.status_code == 200, done.text
    assert done.json()["open"] is False
    assert done.json()["parent_involved"] is True
    assert done.json()["discussed_with_id"] == world.ids["manager"]
    assert_problem(
        client.post(
            f"/incidents/{incident['id']}/discussion", json=discussion, headers=world.auth("head")
        ),
        409,
    )


def test_each_pupil_has_their_own_part(client, world, school):
    body = {
        **INCIDENT,
        "kind": "harassment_or_abuse",
        "pupils": [
            {"pupil_id": school["young"], "part": "victim"},
            {"pupil_id": school["older"], "part": "instigator"},
        ],
    }
    incident = client.post("/incidents", json=body, headers=world.auth("owner")).json()
    parts = {p["pupil_id"]: p["part"] for p in incident["pupils"]}
    assert parts == {school["young"]: "victim", school["older"]: "instigator"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**INCIDENT}, "pupils"),  # nobody named
        ({**INCIDENT, "other_person": "A parent", "kind": "gossip"}, "kind"),
        (
            {**INCIDENT, "other_person": "A parent", "occurred_at": "2026-01-10T19:30:00"},
            "timezone",
        ),
    ],
)
def test_bad_incidents_are_refused(client, world, db, body, field):
    problem = assert_problem(client.post("/incidents", json=body, headers=world.auth("owner")), 422)
    assert field in str(problem)
    assert count_rows(db, "incident") == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("manager", 200),
        ("head", 200),
        ("dsl", 200),
        ("other_staff", 403),
        ("other_manager", 403),
        ("admin", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_read_an_incident(client, world, who, status):
    body = {**INCIDENT, "other_person": "A parent"}
    iid = client.post("/incidents", json=body, headers=world.auth("owner")).json()["id"]
    assert client.get(f"/incidents/{iid}", headers=world.auth(who)).status_code == status
    listing = client.get("/incidents", headers=world.auth(who))
    if status == 200:
        assert [i["id"] for i in listing.json()["items"]] == [iid]
