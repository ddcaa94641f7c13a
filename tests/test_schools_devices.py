"""Schools of the trust and the register of school-owned devices."""

from __future__ import annotations

import pytest

from tests.support.ground import assert_problem, count_rows

DEVICE = {"asset_tag": "RA-IPAD-014", "description": "PE department iPad"}


@pytest.mark.parametrize(
    ("who", "status"),
    [("trust_admin", 201), ("admin", 403), ("dsl", 403), ("owner", 403), (None, 401)],
)
def test_who_may_add_a_school(client, world, db, who, status):
    before = count_rows(db, "school")
    response = client.post("/schools", json={"name": "C"}, headers=world.auth(who))
    assert response.status_code == status, response.text
    assert count_rows(db, "school") == before + (status == 201)
    if status == 201:
        assert response.json()["trust_id"] == world.trust


def test_school_time_zone_must_be_real(client, world, db):
    response = client.post(
        "/schools",
        json={"name": "C", "timezone": "Mars/Olympus"},
        headers=world.auth("trust_admin"),
    )
    assert_problem(response, 422, detail_contains="time zone")
    assert count_rows(db, "school") == 2


@pytest.mark.parametrize(
    ("who", "expected"),
    [("owner", {"A"}), ("admin", {"A"}), ("trust_dsl", {"A", "B"}), ("other_school", {"B"})],
)
def test_schools_listed_are_those_one_belongs_to(client, world, who, expected):
    response = client.get("/schools", headers=world.auth(who))
    assert {s["name"] for s in response.json()} == expected


def test_another_school_is_not_found(client, world):
    assert_problem(client.get(f"/schools/{world.school_b}", headers=world.auth("owner")), 404)
    assert (
        client.get(f"/schools/{world.school_b}", headers=world.auth("trust_dsl")).status_code == 200
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 201), ("trust_admin", 201), ("dsl", 403), ("owner", 403), (None, 401)],
)
def test_who_may_register_a_device(client, world, db, who, status):
    response = client.post("/devices", json=DEVICE, headers=world.auth(who))
    assert response.status_code == status
    assert count_rows(db, "device") == (status == 201)


def test_asset_tags_are_unique_per_school(client, world):
    assert client.post("/devices", json=DEVICE, headers=world.auth("admin")).status_code == 201
    assert_problem(client.post("/devices", json=DEVICE, headers=world.auth("admin")), 409)
    assert (
        client.post("/devices", json=DEVICE, headers=world.auth("other_school")).status_code == 201
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("manager", 200),
        ("dsl", 200),
        ("admin", 200),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_everyone_at_the_school_reads_the_device_register(client, world, who, status):
    device = client.post("/devices", json=DEVICE, headers=world.auth("admin")).json()
    assert client.get(f"/devices/{device['id']}", headers=world.auth(who)).status_code == status
    listing = client.get(f"/devices?school_id={world.school_a}", headers=world.auth(who))
    assert listing.status_code == status
    if status == 200:
        assert [d["asset_tag"] for d in listing.json()["items"]] == ["RA-IPAD-014"]


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("owner", 403), ("dsl", 403), ("other_school", 404)]
)
def test_who_may_retire_a_device(client, world, who, status):
    device = client.post("/devices", json=DEVICE, headers=world.auth("admin")).json()
    response = client.patch(
        f"/devices/{device['id']}", json={"is_active": False}, headers=world.auth(who)
    )
    assert response.status_code == status
    active = client.get("/devices?active=true", headers=world.auth("admin")).json()["items"]
    assert len(active) == (0 if status == 200 else 1)


def test_asset_tag_cannot_be_changed(client, world):
    device = client.post("/devices", json=DEVICE, headers=world.auth("admin")).json()
    response = client.patch(
        f"/devices/{device['id']}", json={"asset_tag": "X"}, headers=world.auth("admin")
    )
    assert_problem(response, 422)
