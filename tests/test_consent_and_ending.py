"""Consent and parent notices as the protocol asks (§5.5), and the end of a contact: by hand,
for one pupil, by the end-date sweep, and by a withdrawn consent (§5.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from tests.support.builders import message, request_body, today
from tests.support.ground import assert_problem, count_rows


def test_consent_rules(client, world, school):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    good = {
        "contact_id": cid,
        "guardian_id": school["guardian"],
        "method": "email",
        "evidence_reference": "Email 12 Sep",
        "given_on": today().isoformat(),
    }
    # The staff member who benefits cannot record it, even if they are an admin.
    client.patch(
        f"/staff/{world.ids['owner']}",
        json={"roles": ["staff", "admin"]},
        headers=world.auth("admin"),
    )
    assert_problem(
        client.post(f"/pupils/{school['young']}/consents", json=good, headers=world.auth("owner")),
        403,
    )
    no_pr = {**good, "guardian_id": school["no_pr"]}
    assert_problem(
        client.post(f"/pupils/{school['young']}/consents", json=no_pr, headers=world.auth("admin")),
        422,
        detail_contains="parental responsibility",
    )
    future = {**good, "given_on": (today() + timedelta(days=3)).isoformat()}
    assert_problem(
        client.post(
            f"/pupils/{school['young']}/consents", json=future, headers=world.auth("admin")
        ),
        422,
    )
    expired = {
        **good,
        "given_on": (today() - timedelta(days=30)).isoformat(),
        "expires_on": (today() - timedelta(days=1)).isoformat(),
    }
    client.post(f"/pupils/{school['young']}/consents", json=expired, headers=world.auth("dsl"))
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    pupils = client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()["pupils"]
    young = next(p for p in pupils if p["pupil_id"] == school["young"])
    assert young["state"] == "awaiting_consent"
    assert young["consent_valid"] is False


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 201),
        ("dsl", 201),
        ("owner", 403),
        ("manager", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_record_consent(client, world, school, who, status):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    body = {
        "contact_id": cid,
        "guardian_id": school["guardian"],
        "method": "app",
        "evidence_reference": "App 1",
        "given_on": today().isoformat(),
    }
    response = client.post(
        f"/pupils/{school['young']}/consents", json=body, headers=world.auth(who)
    )
    assert response.status_code == status, response.text


def test_parent_notice_is_for_16_and_over(client, world, school):
    body = {
        "informed_on": today().isoformat(),
        "informed_by": "Office",
        "method": "letter",
        "reason_explained": "Team chat",
    }
    assert_problem(
        client.post(
            f"/pupils/{school['young']}/parent-notices", json=body, headers=world.auth("admin")
        ),
        422,
        detail_contains="consent",
    )
    assert (
        client.post(
            f"/pupils/{school['older']}/parent-notices", json=body, headers=world.auth("admin")
        ).status_code
        == 201
    )
    listed = client.get(
        f"/pupils/{school['older']}/parent-notices", headers=world.auth("dsl")
    ).json()
    assert len(listed) == 1


def test_parents_count_as_informed_from_the_day_they_were_told(client, world, school):
    owner = world.auth("owner")
    body = request_body(school, pupil_ids=[school["older"]])
    cid = client.post("/contacts", json=body, headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    notice = {
        "contact_id": cid,
        "informed_on": today().isoformat(),
        "informed_by": "Office",
        "method": "letter",
        "reason_explained": "Team chat",
    }
    told = client.post(
        f"/pupils/{school['older']}/parent-notices", json=notice, headers=world.auth("admin")
    )
    assert told.status_code == 201, told.text
    earlier = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    before = client.post(
        f"/contacts/{cid}/messages", json=message(occurred_at=earlier), headers=owner
    )
    assert "parent_not_informed" in before.json()["flags"]
    after = client.post(f"/contacts/{cid}/messages", json=message(), headers=owner)
    assert after.json()["flags"] == []


def test_parents_not_informed_is_advice_not_an_alert(client, world, school, db):
    """§5.5 only recommends informing the parents of a pupil of 16 or over: an entry whose one
    flag is `parent_not_informed` is kept, shown and searchable, but neither queued for review
    nor emailed to the DSL. Any other flag is."""
    owner = world.auth("owner")
    body = request_body(school, pupil_ids=[school["older"]])
    cid = client.post("/contacts", json=body, headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    advised = client.post(f"/contacts/{cid}/messages", json=message(), headers=owner).json()
    assert advised["flags"] == ["parent_not_informed"]
    assert advised["needs_review"] is False
    assert count_rows(db, "alert", "kind = 'flagged_message'") == 0
    dsl = world.auth("dsl")
    assert client.get("/review-queue", headers=dsl).json()["items"] == []
    found = client.get("/messages?flag=parent_not_informed", headers=dsl).json()["items"]
    assert [m["id"] for m in found] == [advised["id"]]
    both = client.post(
        f"/contacts/{cid}/messages", json=message(device_tag="MY-PHONE"), headers=owner
    ).json()
    assert set(both["flags"]) == {"parent_not_informed", "unregistered_device"}
    assert both["needs_review"] is True
    assert count_rows(db, "alert", "kind = 'flagged_message'") == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("manager", 200),
        ("dsl", 200),
        ("other_manager", 403),
        ("admin", 403),
        ("other_staff", 403),
    ],
)
def test_who_may_end_a_contact(client, world, school, who, status):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    response = client.post(f"/contacts/{cid}/end", json={"reason": "done"}, headers=world.auth(who))
    assert response.status_code == status


def test_ending_one_pupil_leaves_the_other(client, world, school, db):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    ended = client.post(
        f"/contacts/{cid}/end",
        json={"reason": "left the team", "pupil_id": school["older"]},
        headers=owner,
    ).json()
    states = {p["pupil_id"]: p["state"] for p in ended["pupils"]}
    assert states[school["older"]] == "ended"
    assert ended["state"] != "ended"
    assert count_rows(db, "deletion_task") == 1
    client.post(f"/contacts/{cid}/deletion", json={"how": "Removed from group"}, headers=owner)
    after = client.get(f"/contacts/{cid}", headers=owner).json()
    assert {p["pupil_id"]: p["state"] for p in after["pupils"]}[school["older"]] == "closed"
    assert after["state"] != "closed"


def test_the_end_sweep_ends_contacts_past_their_end_date(client, world, school, db, settings):
    from contacts.sweeps import end_contacts_past_their_end_date
    from core.principal import Principal

    owner = world.auth("owner")
    body = request_body(school, ends_on=(today() + timedelta(days=2)).isoformat())
    cid = client.post("/contacts", json=body, headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    with db.transaction() as session:
        assert (
            end_contacts_past_their_end_date(
                session=session,
                actor=Principal.command_line(),
                settings=settings,
                at=clock.now() + timedelta(days=2),
            )
            == 0
        )
    with db.transaction() as session:
        assert (
            end_contacts_past_their_end_date(
                session=session,
                actor=Principal.command_line(),
                settings=settings,
                at=clock.now() + timedelta(days=4),
            )
            == 1
        )
    assert client.get(f"/contacts/{cid}", headers=owner).json()["state"] == "ended"
    assert count_rows(db, "deletion_task") == 2


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("dsl", 200),
        ("trust_dsl", 200),
        ("owner", 403),
        ("manager", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_withdraw_and_list_consent(client, world, school, who, status):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    consent = client.post(
        f"/pupils/{school['young']}/consents",
        json={
            "contact_id": cid,
            "guardian_id": school["guardian"],
            "method": "app",
            "evidence_reference": "App 7",
            "given_on": today().isoformat(),
        },
        headers=world.auth("admin"),
    ).json()
    listed = client.get(f"/pupils/{school['young']}/consents", headers=world.auth(who))
    assert listed.status_code == status
    response = client.post(
        f"/consents/{consent['id']}/withdrawal",
        json={"reason": "Parent changed mind"},
        headers=world.auth(who),
    )
    assert response.status_code == status
    again = client.post(
        f"/consents/{consent['id']}/withdrawal",
        json={"reason": "again"},
        headers=world.auth("admin"),
    )
    assert again.status_code == (409 if status == 200 else 200)


def test_withdrawal_on_an_approved_contact_queues_the_staff_alert(client, world, school, db):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    consent = client.post(
        f"/pupils/{school['young']}/consents",
        json={
            "contact_id": cid,
            "guardian_id": school["guardian"],
            "method": "app",
            "evidence_reference": "App 8",
            "given_on": today().isoformat(),
        },
        headers=world.auth("admin"),
    ).json()
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    client.post(
        f"/consents/{consent['id']}/withdrawal", json={"reason": "x"}, headers=world.auth("dsl")
    )
    with db.session() as session:
        from sqlmodel import select

        from contacts.models import Alert

        [alert] = session.exec(select(Alert).where(Alert.kind != "approval_requested")).all()
        assert alert.kind == "consent_withdrawn"
        assert alert.staff_id == world.ids["owner"]
    assert count_rows(db, "deletion_task") == 1
