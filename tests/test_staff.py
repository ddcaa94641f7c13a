"""The staff directory: who may add, read and change accounts; the rules on roles and managers."""

from __future__ import annotations

import pytest

from tests.support.builders import invitation_token
from tests.support.ground import assert_problem, count_rows

NEW = {"name": "New Teacher", "email": "new.teacher@a.example.org"}


def test_admin_adds_a_member_of_staff(client, world, db):
    body = {**NEW, "roles": ["staff"], "line_manager_id": world.ids["manager"]}
    response = client.post("/staff", json=body, headers=world.auth("admin"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["school_id"] == world.school_a
    assert created["roles"] == ["staff"]
    assert created["line_manager_id"] == world.ids["manager"]
    assert created["is_active"] is True
    assert "password" not in created
    assert "password_hash" not in created
    # Nobody chose a password for them: the new member of staff is invited to choose one.
    invited = invitation_token(db, NEW["email"])
    chosen = client.post(
        "/auth/password", json={"token": invited, "password": "lantern orchard velvet 42"}
    )
    assert chosen.status_code == 204, chosen.text
    signed_in = client.post(
        "/auth/token", data={"username": NEW["email"], "password": "lantern orchard velvet 42"}
    )
    assert signed_in.status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 201),
        ("trust_admin", 201),
        ("owner", 403),
        ("manager", 403),
        ("head", 403),
        ("dsl", 403),
        ("trust_dsl", 403),
        (None, 401),
    ],
)
def test_who_may_add_staff(client, world, db, who, status):
    before = count_rows(db, "staff")
    response = client.post("/staff", json=NEW, headers=world.auth(who))
    assert response.status_code == status, response.text
    assert count_rows(db, "staff") == before + (1 if status == 201 else 0)


def test_other_school_admin_cannot_add_staff_to_this_school(client, world, db):
    body = {**NEW, "school_id": world.school_a}
    before = count_rows(db, "staff")
    assert_problem(client.post("/staff", json=body, headers=world.auth("other_school")), 404)
    assert count_rows(db, "staff") == before


def test_trust_admin_adds_staff_to_any_school_of_the_trust(client, world):
    body = {**NEW, "school_id": world.school_b}
    response = client.post("/staff", json=body, headers=world.auth("trust_admin"))
    assert response.status_code == 201
    assert response.json()["school_id"] == world.school_b


@pytest.mark.parametrize("field", ["id", "token_generation", "password_hash", "is_active"])
def test_unknown_or_protected_fields_are_refused(client, world, db, field):
    before = count_rows(db, "staff")
    body = assert_problem(
        client.post("/staff", json={**NEW, field: 1}, headers=world.auth("admin")), 422
    )
    assert body["errors"] == [
        {"field": field, "in": "body", "message": "Extra inputs are not permitted"}
    ]
    assert count_rows(db, "staff") == before


def test_school_admin_cannot_grant_trust_roles(client, world, db):
    before = count_rows(db, "staff")
    body = {**NEW, "roles": ["staff", "trust_dsl"]}
    assert_problem(
        client.post("/staff", json=body, headers=world.auth("admin")), 403, detail_contains="trust"
    )
    assert count_rows(db, "staff") == before
    response = client.post("/staff", json=body, headers=world.auth("trust_admin"))
    assert response.status_code == 201


def test_duplicate_email_is_a_conflict(client, world, db):
    body = {**NEW, "email": "Owner@A.example.org"}
    before = count_rows(db, "staff")
    problem = assert_problem(client.post("/staff", json=body, headers=world.auth("admin")), 409)
    assert "owner@" not in problem["detail"].lower()
    assert count_rows(db, "staff") == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"name": "   "}, "name"),
        ({"password": "short"}, "password"),
        ({"roles": []}, "roles"),
        ({"roles": ["superuser"]}, "roles[0]"),
    ],
)
def test_invalid_staff_input_names_the_field(client, world, db, body, message):
    before = count_rows(db, "staff")
    problem = assert_problem(
        client.post("/staff", json={**NEW, **body}, headers=world.auth("admin")), 422
    )
    assert message in [e["field"] for e in problem["errors"]]
    assert "short" not in str(problem)
    assert "not-an-email" not in str(problem)
    assert count_rows(db, "staff") == before


def test_line_manager_must_be_an_approver_at_the_same_school(client, world):
    for manager, reason in [
        ("owner", "approver"),
        ("other_school", "same school"),
    ]:
        body = {**NEW, "line_manager_id": world.ids[manager]}
        assert_problem(
            client.post("/staff", json=body, headers=world.auth("trust_admin")),
            422,
            detail_contains=reason,
        )


def test_line_manager_chain_cannot_loop(client, world):
    # head manages manager; making manager the head's line manager would close a loop.
    response = client.patch(
        f"/staff/{world.ids['head']}",
        json={"line_manager_id": world.ids["manager"]},
        headers=world.auth("admin"),
    )
    assert_problem(response, 422, detail_contains="own line manager")


def test_headteacher_must_be_an_approver(client, world):
    body = {**NEW, "is_headteacher": True, "roles": ["staff"]}
    assert_problem(client.post("/staff", json=body, headers=world.auth("admin")), 422)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),  # themselves
        ("manager", 200),  # their line manager
        ("head", 200),  # the headteacher
        ("dsl", 200),
        ("admin", 200),
        ("trust_admin", 200),
        ("trust_dsl", 200),
        ("other_staff", 403),
        ("other_manager", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_read_a_staff_record(client, world, who, status):
    response = client.get(f"/staff/{world.ids['owner']}", headers=world.auth(who))
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["email"] == "owner@a.example.org"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", "all"),
        ("dsl", "all"),
        ("head", "all"),
        ("trust_dsl", "all"),
        ("manager", {"owner"}),
        ("other_manager", {"other_staff"}),
        ("owner", 403),
        (None, 401),
    ],
)
def test_who_may_list_staff(client, world, who, expected):
    response = client.get("/staff", headers=world.auth(who))
    if isinstance(expected, int):
        assert response.status_code == expected
        return
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["items"]}
    school_a = {w for w, i in world.ids.items() if not w.startswith("other_school")}
    wanted = school_a if expected == "all" else set(expected)
    assert ids == {world.ids[w] for w in wanted}


def test_other_school_list_is_not_found(client, world):
    response = client.get(f"/staff?school_id={world.school_a}", headers=world.auth("other_school"))
    assert_problem(response, 404)


def test_staff_list_pages_with_a_cursor(client, world):
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/staff", params=params, headers=world.auth("admin")).json()
        assert len(page["items"]) <= 3
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 10  # school A's people (tests/support/builders.py)


def test_bad_cursor_and_oversized_page_are_422(client, world):
    assert_problem(client.get("/staff?cursor=nonsense", headers=world.auth("admin")), 422)
    assert_problem(client.get("/staff?limit=100000", headers=world.auth("admin")), 422)
    assert_problem(client.get("/staff?limit=0", headers=world.auth("admin")), 422)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("trust_admin", 200),
        ("owner", 403),
        ("manager", 403),
        ("head", 403),
        ("dsl", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_change_a_staff_record(client, world, who, status, session):
    response = client.patch(
        f"/staff/{world.ids['owner']}", json={"name": "Renamed"}, headers=world.auth(who)
    )
    assert response.status_code == status, response.text
    check = client.get(f"/staff/{world.ids['owner']}", headers=world.auth("admin")).json()
    assert check["name"] == ("Renamed" if status == 200 else "Owner")


def test_roles_are_replaced_and_shown(client, world):
    """A privileged role waits for a second person; then it is held."""
    response = client.patch(
        f"/staff/{world.ids['owner']}",
        json={"roles": ["staff", "approver"]},
        headers=world.auth("admin"),
    )
    assert response.json()["roles"] == ["staff"]
    assert response.json()["pending_roles"] == ["approver"]
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    confirmed = client.post(f"/pending-changes/{change['id']}/confirm", headers=world.auth("head"))
    assert confirmed.status_code == 200, confirmed.text
    # The grant ended the sign-in made before it; the role is held.
    assert client.get("/me", headers=world.auth("owner")).status_code == 401
    shown = client.get(f"/staff/{world.ids['owner']}", headers=world.auth("admin")).json()
    assert shown["roles"] == ["staff", "approver"]
    removed = client.patch(
        f"/staff/{world.ids['owner']}", json={"roles": ["staff"]}, headers=world.auth("admin")
    )
    assert removed.json()["roles"] == ["staff"]  # taking a role away applies at once


def test_school_admin_cannot_remove_a_trust_role(client, world):
    response = client.patch(
        f"/staff/{world.ids['trust_dsl']}", json={"roles": ["staff"]}, headers=world.auth("admin")
    )
    assert_problem(response, 403)


def test_admin_cannot_deactivate_themselves(client, world):
    response = client.patch(
        f"/staff/{world.ids['admin']}", json={"is_active": False}, headers=world.auth("admin")
    )
    assert_problem(response, 422, detail_contains="your own account")


def test_fields_that_cannot_be_cleared(client, world):
    response = client.patch(
        f"/staff/{world.ids['owner']}", json={"name": None}, headers=world.auth("admin")
    )
    assert_problem(response, 422, detail_contains="name")
    cleared = client.patch(
        f"/staff/{world.ids['owner']}", json={"line_manager_id": None}, headers=world.auth("admin")
    )
    assert cleared.status_code == 200
    assert cleared.json()["line_manager_id"] is None


def test_missing_staff_is_404(client, world):
    assert_problem(client.get("/staff/999999", headers=world.auth("admin")), 404)
    assert_problem(client.patch("/staff/999999", json={}, headers=world.auth("admin")), 404)
