"""Pupils, guardians and the MIS import: admins write, DSLs read, nobody else sees pupils."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.builders import INCIDENT, today
from tests.support.ground import assert_problem, count_rows

PUPIL = {
    "given_name": "Ava",
    "family_name": "Thompson",
    "date_of_birth": "2011-05-04",
    "school_reference": "R1001",
}


@pytest.fixture
def pupil(client, world) -> dict:  # type: ignore[type-arg]
    response = client.post("/pupils", json=PUPIL, headers=world.auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 201),
        ("trust_admin", 201),
        ("dsl", 403),
        ("head", 403),
        ("owner", 403),
        (None, 401),
    ],
)
def test_who_may_add_a_pupil(client, world, db, who, status):
    response = client.post("/pupils", json=PUPIL, headers=world.auth(who))
    assert response.status_code == status, response.text
    assert count_rows(db, "pupil") == (1 if status == 201 else 0)
    if status == 201:
        body = response.json()
        assert body["school_id"] == world.school_a
        assert body["date_of_birth"] == "2011-05-04"


def test_pupil_input_is_checked(client, world, db):
    tomorrow = (today() + timedelta(days=2)).isoformat()
    cases = [
        ({**PUPIL, "date_of_birth": "04/05/2011"}, "date_of_birth"),
        ({**PUPIL, "date_of_birth": tomorrow}, "date_of_birth"),
        ({**PUPIL, "given_name": ""}, "given_name"),
        ({k: v for k, v in PUPIL.items() if k != "school_reference"}, "school_reference"),
        ({**PUPIL, "notes": "likes football"}, "notes"),
    ]
    for body, field in cases:
        problem = assert_problem(
            client.post("/pupils", json=body, headers=world.auth("admin")), 422
        )
        assert field in str(problem["errors"]) or field in problem["detail"]
        assert "Thompson" not in str(problem)
        assert "football" not in str(problem)
    assert count_rows(db, "pupil") == 0


def test_school_reference_is_unique_within_a_school(client, world, pupil):
    assert_problem(client.post("/pupils", json=PUPIL, headers=world.auth("admin")), 409)
    # Another school may use the same reference.
    response = client.post("/pupils", json=PUPIL, headers=world.auth("other_school"))
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("dsl", 200),
        ("trust_dsl", 200),
        ("trust_admin", 200),
        ("head", 403),
        ("manager", 403),
        ("owner", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_read_a_pupil(client, world, pupil, who, status):
    response = client.get(f"/pupils/{pupil['id']}", headers=world.auth(who))
    assert response.status_code == status, response.text
    listing = client.get(f"/pupils?school_id={world.school_a}", headers=world.auth(who))
    assert listing.status_code == status
    if status == 200:
        assert response.json() == pupil
        assert [p["id"] for p in listing.json()["items"]] == [pupil["id"]]


def test_other_school_sees_only_its_own_pupils(client, world, pupil):
    response = client.get("/pupils", headers=world.auth("other_school"))
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("dsl", 403), ("owner", 403), ("other_school", 404), (None, 401)],
)
def test_who_may_change_a_pupil(client, world, pupil, who, status):
    response = client.patch(
        f"/pupils/{pupil['id']}", json={"given_name": "Eva"}, headers=world.auth(who)
    )
    assert response.status_code == status, response.text
    now = client.get(f"/pupils/{pupil['id']}", headers=world.auth("admin")).json()
    assert now["given_name"] == ("Eva" if status == 200 else "Ava")


def test_school_id_cannot_be_changed(client, world, pupil):
    response = client.patch(
        f"/pupils/{pupil['id']}", json={"school_id": world.school_b}, headers=world.auth("admin")
    )
    assert_problem(response, 422)


GUARDIAN = {
    "name": "Claire Thompson",
    "relationship": "mother",
    "email": "claire@example.org",
    "has_parental_responsibility": True,
}


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 201), ("dsl", 403), ("owner", 403), ("other_school", 404), (None, 401)],
)
def test_who_may_record_a_guardian(client, world, pupil, db, who, status):
    response = client.post(
        f"/pupils/{pupil['id']}/guardians", json=GUARDIAN, headers=world.auth(who)
    )
    assert response.status_code == status, response.text
    assert count_rows(db, "guardian") == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("dsl", 200), ("owner", 403), ("manager", 403), ("other_school", 404)],
)
def test_who_may_read_guardians(client, world, pupil, who, status):
    client.post(f"/pupils/{pupil['id']}/guardians", json=GUARDIAN, headers=world.auth("admin"))
    response = client.get(f"/pupils/{pupil['id']}/guardians", headers=world.auth(who))
    assert response.status_code == status
    if status == 200:
        [guardian] = response.json()
        assert guardian["has_parental_responsibility"] is True
        assert guardian["pupil_id"] == pupil["id"]


def test_guardian_needs_parental_responsibility_stated(client, world, pupil):
    body = {k: v for k, v in GUARDIAN.items() if k != "has_parental_responsibility"}
    response = client.post(
        f"/pupils/{pupil['id']}/guardians", json=body, headers=world.auth("admin")
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "has_parental_responsibility"


# ---------------------------------------------------------------- the MIS import

GOOD_CSV = (
    "UPN,Legal Forename,Legal Surname,DOB,Year\n"
    "R2001,Leo,Walsh,2010-09-01,11\n"
    'R2002,"Maya, Jr",Begum,15/03/2009,12\n'
    "R2003,Noah,Fraser,01/12/2012,9\n"
)


def _import(client, world, text: str, who: str = "admin", **params):  # type: ignore[no-untyped-def]
    return client.post(
        "/pupils/import",
        content=text.encode(),
        params=params,
        headers={**world.auth(who), "Content-Type": "text/csv"},
    )


def test_import_creates_every_row(client, world):
    response = _import(client, world, GOOD_CSV)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "dates_waiting": 0,
    }
    listing = client.get("/pupils", headers=world.auth("admin")).json()["items"]
    assert {(p["school_reference"], p["date_of_birth"]) for p in listing} == {
        ("R2001", "2010-09-01"),
        ("R2002", "2009-03-15"),
        ("R2003", "2012-12-01"),
    }
    assert next(p for p in listing if p["school_reference"] == "R2002")["given_name"] == "Maya, Jr"


def test_import_again_updates_and_counts_unchanged(client, world):
    _import(client, world, GOOD_CSV)
    changed = (
        GOOD_CSV.replace("Noah,Fraser", "Noah,Fraser-Smith") + "R2004,Ella,Jones,2011-01-01,10\n"
    )
    response = _import(client, world, changed)
    assert response.json() == {
        "rows": 4,
        "created": 1,
        "updated": 1,
        "unchanged": 2,
        "dates_waiting": 0,
    }


def test_import_with_bad_rows_writes_nothing_and_reports_each(client, world, db):
    bad = (
        "UPN,Forename,Surname,Date of Birth\n"
        "R3001,Leo,Walsh,2010-09-01\n"
        "R3002,,Begum,2009-03-15\n"
        "R3003,Noah,Fraser,31/02/2012\n"
        "R3001,Ella,Jones,2011-01-01\n"
    )
    problem = assert_problem(_import(client, world, bad), 422, detail_contains="no pupils")
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (3, "given_name"),
        (4, "date_of_birth"),
        (5, "school_reference"),
    ]
    assert "Walsh" not in str(problem)
    assert "Begum" not in str(problem)
    assert count_rows(db, "pupil") == 0


def test_import_reports_missing_columns(client, world):
    problem = assert_problem(_import(client, world, "Name,Class\nLeo,9A\n"), 422)
    assert {e["field"] for e in problem["errors"]} == {
        "school_reference",
        "given_name",
        "family_name",
        "date_of_birth",
    }


def test_import_accepts_excel_bom_and_windows_1252(client, world):
    text = "\ufeffUPN,Forename,Surname,DOB\r\nR4001,Zoë,Brontë,2010-02-02\r\n"
    assert _import(client, world, text).json()["created"] == 1
    response = client.post(
        "/pupils/import",
        content="UPN,Forename,Surname,DOB\nR4002,Chloé,Dubois,2010-02-02\n".encode("cp1252"),
        headers={**world.auth("admin"), "Content-Type": "text/csv"},
    )
    assert response.json()["created"] == 1
    names = {
        p["given_name"] for p in client.get("/pupils", headers=world.auth("admin")).json()["items"]
    }
    assert names == {"Zoë", "Chloé"}


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("trust_admin", 200), ("dsl", 403), ("owner", 403), (None, 401)],
)
def test_who_may_import(client, world, db, who, status):
    assert _import(client, world, GOOD_CSV, who).status_code == status
    assert count_rows(db, "pupil") == (3 if status == 200 else 0)


def test_other_school_admin_cannot_import_into_this_school(client, world, db):
    response = _import(client, world, GOOD_CSV, "other_school", school_id=world.school_a)
    assert_problem(response, 404)
    assert count_rows(db, "pupil") == 0


def test_import_needs_csv(client, world):
    response = client.post("/pupils/import", json={"rows": []}, headers=world.auth("admin"))
    assert_problem(response, 415)
    assert_problem(_import(client, world, ""), 422, detail_contains="empty")


def test_import_over_the_size_cap_is_413(client, world, db, settings):
    huge = "UPN,Forename,Surname,DOB\n" + "R1,A,B,2010-01-01\n" * (
        settings.max_import_bytes // 18 + 10
    )
    assert_problem(_import(client, world, huge), 413)
    assert count_rows(db, "pupil") == 0


def test_the_mis_marks_leavers_and_a_file_without_the_column_keeps_them(client, world):
    _import(client, world, GOOD_CSV)
    with_leavers = (
        "UPN,Legal Forename,Legal Surname,DOB,Leaving Date\n"
        "R2001,Leo,Walsh,2010-09-01,31/07/2026\n"
        "R2002,Maya,Begum,15/03/2009,\n"
    )
    assert _import(client, world, with_leavers).json()["updated"] == 2
    left = {
        p["school_reference"]: p["left_on"]
        for p in client.get("/pupils", headers=world.auth("admin")).json()["items"]
    }
    assert left == {"R2001": "2026-07-31", "R2002": None, "R2003": None}
    # An export without the column says nothing about leaving: Leo's date stays.
    _import(client, world, GOOD_CSV)
    listed = client.get("/pupils", headers=world.auth("admin")).json()["items"]
    [leo] = [p for p in listed if p["school_reference"] == "R2001"]
    assert leo["left_on"] == "2026-07-31"
    bad = _import(client, world, with_leavers.replace("31/07/2026", "soon"))
    refused = assert_problem(bad, 422)
    assert refused["errors"] == [
        {"row": 2, "field": "left_on", "message": "not a date (YYYY-MM-DD or DD/MM/YYYY)"}
    ]


def test_import_holds_back_new_dates_of_pupils_with_records_for_a_second_person(
    client, world, school
):
    """A new date of birth in the MIS file is the same lever as PATCH: it waits once records
    about the pupil exist, and the rest of the row is applied."""
    client.post(
        "/incidents",
        json={**INCIDENT, "pupils": [{"pupil_id": school["young"], "part": "initiated"}]},
        headers=world.auth("owner"),
    )
    row = "UPN,Forename,Surname,Date of Birth\nY1,Ava,Thomas,1950-01-01\n"
    response = _import(client, world, row)
    assert response.status_code == 200, response.text
    assert response.json()["dates_waiting"] == 1
    assert response.json()["updated"] == 1
    shown = client.get(f"/pupils/{school['young']}", headers=world.auth("admin")).json()
    assert shown["family_name"] == "Thomas"
    assert shown["date_of_birth"] != "1950-01-01"
    [change] = client.get("/pending-changes", headers=world.auth("head")).json()
    assert change["new_date_of_birth"] == "1950-01-01"
