"""Who may decide, read, list and log on a contact: each rule as the people it names meet it."""

from __future__ import annotations

import pytest

from tests.support.builders import message, request_body
from tests.support.ground import assert_problem, count_rows


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("head", 200),
        ("owner", 403),
        ("other_manager", 403),
        ("dsl", 403),
        ("admin", 403),
        ("other_staff", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_decide(client, world, school, who, status):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    response = client.post(
        f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth(who)
    )
    assert response.status_code == status, response.text


def test_a_headteacher_does_not_approve_their_own_request(client, world, school):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("head")).json()[
        "id"
    ]
    assert_problem(
        client.post(
            f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("head")
        ),
        403,
        detail_contains="own request",
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("manager", 200),
        ("head", 200),
        ("dsl", 200),
        ("trust_dsl", 200),
        ("admin", 200),
        ("other_staff", 403),
        ("other_manager", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_read_a_contact(client, world, school, who, status):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    assert client.get(f"/contacts/{cid}", headers=world.auth(who)).status_code == status


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", 1),
        ("manager", 1),
        ("other_manager", 0),
        ("other_staff", 0),
        ("dsl", 1),
        ("head", 1),
        ("other_school", 0),
    ],
)
def test_contact_lists_are_scoped(client, world, school, who, expected):
    client.post("/contacts", json=request_body(school), headers=world.auth("owner"))
    response = client.get("/contacts", headers=world.auth(who))
    assert response.status_code == 200
    assert len(response.json()["items"]) == expected


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 201),
        ("manager", 403),
        ("dsl", 403),
        ("other_staff", 403),
        ("admin", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_only_the_owner_logs_on_a_contact(client, world, school, db, who, status):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    response = client.post(f"/contacts/{cid}/messages", json=message(), headers=world.auth(who))
    assert response.status_code == status
    assert count_rows(db, "message") == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("manager", 200),
        ("dsl", 200),
        ("admin", 403),
        ("other_staff", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_read_the_log(client, world, school, who, status):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    mid = client.post(
        f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner")
    ).json()["id"]
    assert client.get(f"/contacts/{cid}/messages", headers=world.auth(who)).status_code == status
    assert (
        client.get(f"/contacts/{cid}/messages/{mid}", headers=world.auth(who)).status_code == status
    )
