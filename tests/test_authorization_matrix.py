"""Every route of the app × every kind of actor: only the allowed cells succeed.

The matrix is checked against the app's own route table, so a new endpoint cannot be added
without saying here who may use it."""

from __future__ import annotations

import pytest

from api.app import create_app
from tests.support.ground import test_settings
from tests.support.matrix import ACTORS, CREDENTIAL_ONLY, MATRIX, PUBLIC, upload_form

# No person's sign-in reaches these: the operators' Prometheus with its scrape credential
# (tests/test_operations.py tries every actor's token on it).


# A checkpoint of the right shape that was never signed: checking it is allowed, and fails.


def test_every_route_is_in_the_matrix(tmp_path):
    # The app's own route table, as it publishes it: every operation of every path.
    spec = create_app(test_settings(tmp_path)).openapi()
    routes = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert routes - PUBLIC - CREDENTIAL_ONLY - set(MATRIX) == set(), "say who may use it"
    assert set(MATRIX) - routes == set(), "the matrix names a route the app no longer has"


CASES = [(method, path, actor) for (method, path) in MATRIX for actor in ACTORS]


@pytest.mark.parametrize(
    ("method", "path", "actor"), CASES, ids=[f"{m} {p} as {a}" for m, p, a in CASES]
)
def test_only_the_allowed_may(client, scene, method, path, actor):
    cell = MATRIX[(method, path)]
    url, body = cell.call(scene)
    headers = scene.world.auth(actor)
    if body == "upload":
        fields, files = upload_form()
        response = client.request(method, url, headers=headers, data=fields, files=files)
    elif body == "attachment":
        files = {"file": ("letter.txt", b"A letter from a parent")}
        response = client.request(method, url, headers=headers, files=files)
    elif body == "csv":
        response = client.request(
            method,
            url,
            headers={**headers, "Content-Type": "text/csv"},
            content=b"UPN,Forename,Surname,DOB\nX9,A,B,2012-01-01\n",
        )
    else:
        response = client.request(method, url, headers=headers, json=body)
    if actor in cell.allowed:
        assert 200 <= response.status_code < 300, response.text
    elif actor is None:
        assert response.status_code == 401, response.text
    else:
        assert 400 <= response.status_code < 500, response.text
        assert response.status_code != 401, response.text


# ---------------------------------------------------------------- nothing about oneself

# Who places a hold on whom: the subject holds every role that reads holds in their school.
ABOUT_ONESELF = [
    ("trust_dsl", "dsl"),  # a school DSL under allegation
    ("dsl", "trust_dsl"),  # a trust DSL under allegation
    ("dsl", "admin"),  # an admin
    ("dsl", "head"),  # the headteacher
]


@pytest.mark.parametrize(("placer", "subject"), ABOUT_ONESELF)
def test_nobody_sees_counts_or_releases_a_hold_about_themselves(client, world, placer, subject):
    """Whatever the subject's roles: the hold is not in their list, their change record, their
    retention plan, and its release answers as for a hold that does not exist."""
    body = {
        "subject_type": "staff",
        "subject_id": world.ids[subject],
        "case_reference": "LADO/ABOUT/1",
        "reason": "Allegation",
    }
    placed = client.post("/legal-holds", json=body, headers=world.auth(placer))
    assert placed.status_code == 201, placed.text
    hold = placed.json()["id"]
    mine = world.auth(subject)
    listed = client.get("/legal-holds", headers=mine)
    if listed.status_code == 200:
        assert all(h["id"] != hold for h in listed.json()["items"])
    else:
        assert listed.status_code == 403  # holds are not theirs to read at all
    released = client.post(f"/legal-holds/{hold}/release", json={"reason": "x"}, headers=mine)
    assert released.status_code in (403, 404)
    assert "LADO/ABOUT/1" not in released.text
    for url in ("/audit/events?object_type=legal_hold", "/retention/plan", "/retention/reports"):
        seen = client.get(url, headers=mine)
        assert "LADO/ABOUT/1" not in seen.text
        assert f'"object_id":{hold},' not in seen.text
    # The one who placed it still sees it.
    assert any(
        h["id"] == hold
        for h in client.get("/legal-holds", headers=world.auth(placer)).json()["items"]
    )
