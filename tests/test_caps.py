"""Caps on what one request may ask for: page size, body size, export size, sign-in rate."""

from __future__ import annotations

import pytest

from tests.support.builders import message, request_body
from tests.support.ground import PASSWORD, assert_problem, count_rows


@pytest.mark.parametrize(
    "path",
    [
        "/staff",
        "/devices",
        "/contacts",
        "/messages",
        "/audit/events",
        "/incidents",
        "/review-queue",
        "/outbox",
        "/deletion-tasks",
    ],
)
@pytest.mark.parametrize("limit", [0, -1, 201, 10**9, "many"])
def test_page_size_is_capped(client, world, path, limit):
    assert_problem(client.get(f"{path}?limit={limit}", headers=world.auth("dsl")), 422)


def test_a_page_holds_no_more_than_the_deployments_page_size(client, world, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_page_size", 3)
    first = client.get("/staff?limit=200", headers=world.auth("dsl")).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = client.get(f"/staff?limit=200&cursor={first['next_cursor']}", headers=world.auth("dsl"))
    assert len(rest.json()["items"]) == 3  # school A's nine accounts, three at a time


def test_body_size_is_capped(client, world, school, settings, db):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    huge = message(verbatim="x" * settings.max_body_bytes)
    assert_problem(client.post(f"/contacts/{cid}/messages", json=huge, headers=owner), 413)
    too_long = message(verbatim="x" * 20_001)  # under the body cap, over the field's own
    assert_problem(client.post(f"/contacts/{cid}/messages", json=too_long, headers=owner), 422)
    assert count_rows(db, "message") == 0


def test_export_size_is_capped(client, world, school, settings, monkeypatch, db):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    for _ in range(4):
        client.post(f"/contacts/{cid}/messages", json=message(), headers=owner)
    monkeypatch.setattr(settings, "max_export_rows", 3)
    csv_headers = {**world.auth("dsl"), "Accept": "text/csv"}
    assert_problem(client.get("/messages", headers=csv_headers), 422, detail_contains="narrow")
    exported = client.get(f"/messages?staff_id={world.ids['other_staff']}", headers=csv_headers)
    assert exported.status_code == 200
    exports = client.get("/audit/events?action=access.export", headers=world.auth("dsl")).json()
    assert len(exports["items"]) == 1  # the refused one was not an export


def test_sign_in_rate_is_capped(client, world, settings):
    for _ in range(settings.signin_free_failures):
        client.post("/auth/token", data={"username": "dsl@a.example.org", "password": "no"})
    refused = client.post(
        "/auth/token", data={"username": "dsl@a.example.org", "password": PASSWORD}
    )
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
