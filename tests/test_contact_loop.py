"""The protocol's whole loop through the API, as the people involved see it at each step."""

from __future__ import annotations

import pytest

from core import clock
from tests.support.builders import dob, message, request_body, today
from tests.support.ground import assert_problem, count_rows
from tests.support.record import checked

# ---------------------------------------------------------------- the loop, step by step
# Each step starts from the story so far, built by the helpers below, and checks one step.


def _requested(client, world, school) -> int:  # type: ignore[no-untyped-def]
    created = client.post("/contacts", json=request_body(school), headers=world.auth("owner"))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _approved(client, world, school) -> int:  # type: ignore[no-untyped-def]
    cid = _requested(client, world, school)
    decided = client.post(
        f"/contacts/{cid}/decision",
        json={"approve": True, "conditions": "Team group only; no direct messages"},
        headers=world.auth("manager"),
    )
    assert decided.status_code == 200, decided.text
    return cid


def _consented(client, world, school) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Approved, the under-16's consent and the 16+'s parent notice recorded by the office."""
    cid = _approved(client, world, school)
    admin = world.auth("admin")
    consent = client.post(
        f"/pupils/{school['young']}/consents",
        json={
            "contact_id": cid,
            "guardian_id": school["guardian"],
            "method": "signed_form",
            "evidence_reference": "Form 2026/114",
            "given_on": today().isoformat(),
        },
        headers=admin,
    )
    assert consent.status_code == 201, consent.text
    notice = client.post(
        f"/pupils/{school['older']}/parent-notices",
        json={
            "contact_id": cid,
            "informed_on": today().isoformat(),
            "informed_by": "Mr Okafor",
            "method": "email",
            "reason_explained": "Team WhatsApp for fixtures",
        },
        headers=admin,
    )
    assert notice.status_code == 201, notice.text
    return cid, int(consent.json()["id"])


def _ended(client, world, school) -> int:  # type: ignore[no-untyped-def]
    cid, _ = _consented(client, world, school)
    ended = client.post(
        f"/contacts/{cid}/end", json={"reason": "Season over"}, headers=world.auth("owner")
    )
    assert ended.status_code == 200, ended.text
    return cid


def test_1_a_teacher_asks_in_advance_and_an_early_message_is_flagged(client, world, school, db):
    owner = world.auth("owner")
    cid = _requested(client, world, school)
    contact = client.get(f"/contacts/{cid}", headers=owner).json()
    assert contact["state"] == "requested"
    assert contact["staff_id"] == world.ids["owner"]
    assert [p["state"] for p in contact["pupils"]] == ["requested", "requested"]
    # A message before approval is stored, but flagged, and the DSL's alert is queued.
    early = client.post(f"/contacts/{cid}/messages", json=message(), headers=owner)
    assert early.status_code == 201, early.text
    assert "before_approval" in early.json()["flags"]
    assert count_rows(db, "alert", "kind = 'flagged_message'") == 1


def test_2_their_line_manager_approves_in_writing_once(client, world, school):
    cid = _requested(client, world, school)
    other = world.auth("other_manager")
    assert_problem(
        client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=other), 403
    )
    decided = client.post(
        f"/contacts/{cid}/decision",
        json={"approve": True, "conditions": "Team group only; no direct messages"},
        headers=world.auth("manager"),
    )
    assert decided.status_code == 200, decided.text
    decision = decided.json()
    assert decision["decided_by_id"] == world.ids["manager"]
    assert decision["decided_at"]
    assert decision["conditions"] == "Team group only; no direct messages"
    assert decision["state"] == "approved"
    assert decision["active"] is True
    by_pupil = {p["pupil_id"]: p for p in decision["pupils"]}
    # The 14-year-old waits for consent; the 17-year-old is active, parents not yet informed.
    assert by_pupil[school["young"]]["state"] == "awaiting_consent"
    assert by_pupil[school["young"]]["needs_consent"] is True
    assert by_pupil[school["older"]]["state"] == "active"
    assert by_pupil[school["older"]]["parent_informed"] is False
    again = {"approve": False, "reason": "x"}
    assert_problem(
        client.post(f"/contacts/{cid}/decision", json=again, headers=world.auth("manager")), 409
    )


def test_3_without_consent_or_notice_a_message_is_flagged(client, world, school):
    cid = _approved(client, world, school)
    flagged = client.post(
        f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner")
    ).json()
    assert flagged["flags"] == ["no_valid_consent", "parent_not_informed"]


def test_4_consent_and_a_parent_notice_make_every_pupil_active(client, world, school):
    cid, consent_id = _consented(client, world, school)
    consents = client.get(f"/pupils/{school['young']}/consents", headers=world.auth("dsl")).json()
    assert [c["id"] for c in consents] == [consent_id]
    assert consents[0]["recorded_by_id"] == world.ids["admin"]
    shown = client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()
    assert {p["state"] for p in shown["pupils"]} == {"active"}


def test_5_clean_messages_carry_no_flag_and_a_personal_phone_does(client, world, school):
    cid, _ = _consented(client, world, school)
    owner = world.auth("owner")
    clean = client.post(f"/contacts/{cid}/messages", json=message(), headers=owner).json()
    assert clean["flags"] == []
    assert clean["pupil_ids"] == sorted([school["young"], school["older"]])
    received = client.post(
        f"/contacts/{cid}/messages",
        json=message(direction="received", pupil_ids=[school["older"]], summary="Asked about kit"),
        headers=owner,
    ).json()
    assert received["pupil_ids"] == [school["older"]]
    assert received["flags"] == []
    personal = client.post(
        f"/contacts/{cid}/messages", json=message(device_tag="MY-PHONE"), headers=owner
    ).json()
    assert personal["flags"] == ["unregistered_device"]
    assert personal["device_registered"] is False


def test_6_a_withdrawn_consent_ends_that_pupils_part_at_once(client, world, school):
    cid, consent_id = _consented(client, world, school)
    owner = world.auth("owner")
    withdrawn = client.post(
        f"/consents/{consent_id}/withdrawal",
        json={"reason": "Parent asked by phone"},
        headers=world.auth("dsl"),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_on"] == today().isoformat()
    pupils = client.get(f"/contacts/{cid}", headers=owner).json()["pupils"]
    after = {p["pupil_id"]: p["state"] for p in pupils}
    assert after == {school["young"]: "ended", school["older"]: "active"}
    late = client.post(
        f"/contacts/{cid}/messages",
        json=message(occurred_at=clock.now().isoformat(), pupil_ids=[school["young"]]),
        headers=owner,
    ).json()
    assert "contact_not_active" in late["flags"]
    assert "no_valid_consent" in late["flags"]


def test_7_ending_makes_a_deletion_task_per_pupil_and_happens_once(client, world, school, db):
    cid = _ended(client, world, school)
    shown = client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()
    assert shown["state"] == "ended"
    assert shown["active"] is False
    assert count_rows(db, "deletion_task") == 2
    again = client.post(
        f"/contacts/{cid}/end", json={"reason": "again"}, headers=world.auth("owner")
    )
    assert_problem(again, 409)


def test_8_only_the_owner_confirms_deletion_and_the_record_is_kept(client, world, school):
    cid = _ended(client, world, school)
    owner, dsl = world.auth("owner"), world.auth("dsl")
    client.post(f"/contacts/{cid}/messages", json=message(), headers=owner)
    assert_problem(
        client.post(f"/contacts/{cid}/deletion", json={"how": "Left group"}, headers=dsl), 403
    )
    confirmed = client.post(
        f"/contacts/{cid}/deletion",
        json={"how": "Left and deleted the WhatsApp group"},
        headers=owner,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "closed"
    assert all(p["deletion_confirmed_at"] for p in confirmed.json()["pupils"])
    closed = client.get(f"/contacts/{cid}", headers=dsl).json()
    assert closed["state"] == "closed"
    assert {p["state"] for p in closed["pupils"]} == {"closed"}
    assert len(client.get(f"/contacts/{cid}/messages", headers=dsl).json()["items"]) == 1


def test_9_every_step_is_in_a_change_record_that_verifies(client, world, school, db):
    cid, consent_id = _consented(client, world, school)
    owner, dsl = world.auth("owner"), world.auth("dsl")
    client.post(f"/contacts/{cid}/messages", json=message(), headers=owner)
    client.post(f"/consents/{consent_id}/withdrawal", json={"reason": "Asked"}, headers=dsl)
    client.post(f"/contacts/{cid}/end", json={"reason": "Season over"}, headers=owner)
    client.post(f"/contacts/{cid}/deletion", json={"how": "Deleted the group"}, headers=owner)
    events = client.get("/audit/events?limit=200", headers=dsl).json()["items"]
    actions = [e["action"] for e in events]
    for expected in (
        "contact.requested",
        "contact.approved",
        "consent.recorded",
        "parent_notice.recorded",
        "message.logged",
        "consent.withdrawn",
        "contact.ended",
        "deletion.confirmed",
    ):
        assert expected in actions
    verified = checked(client, dsl)
    assert verified.pop("verified_at")
    assert verified.pop("records_checked") > 0
    assert verified == {
        "ok": True,
        "checked": count_rows(db, "audit_event"),
        "first_bad": None,
        "problem": None,
        "altered": [],
        "altered_elsewhere": 0,
        "checking": None,
    }


def test_an_approval_is_shown_as_approved_everywhere(client, world, school):
    """An approval takes conditions and a note; a reason belongs to a rejection only, so an
    approval can no longer be stored (and then shown) with a rejection's reason."""
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    refused = assert_problem(
        client.post(
            f"/contacts/{cid}/decision",
            json={"approve": True, "reason": "Good plan"},
            headers=world.auth("manager"),
        ),
        422,
    )
    assert "reason belongs to a rejection" in str(refused["errors"])
    approved = client.post(
        f"/contacts/{cid}/decision",
        json={"approve": True, "conditions": "Team group only", "note": "Good plan"},
        headers=world.auth("manager"),
    ).json()
    assert approved["verdict"] == "approved"
    assert approved["state"] == "approved"
    assert (approved["conditions"], approved["decision_note"]) == ("Team group only", "Good plan")
    assert approved["rejection_reason"] is None
    story = client.get(f"/staff/{world.ids['owner']}/chronology", headers=world.auth("dsl")).json()[
        "items"
    ]
    assert "contact.approved" in [e["type"] for e in story]
    assert "contact.rejected" not in [e["type"] for e in story]


def test_rejection_records_the_reason(client, world, school):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    assert_problem(
        client.post(
            f"/contacts/{cid}/decision", json={"approve": False}, headers=world.auth("manager")
        ),
        422,
    )
    rejected = client.post(
        f"/contacts/{cid}/decision",
        json={"approve": False, "reason": "Use the school's Teams instead"},
        headers=world.auth("manager"),
    ).json()
    assert rejected["state"] == "rejected"
    assert rejected["verdict"] == "rejected"
    assert rejected["rejection_reason"] == "Use the school's Teams instead"
    assert_problem(
        client.post(f"/contacts/{cid}/end", json={"reason": "x"}, headers=world.auth("owner")), 409
    )
    flagged = client.post(f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner"))
    assert {"before_approval", "contact_not_active"} <= set(flagged.json()["flags"])


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_the_log_is_append_only(client, world, school, method):
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    mid = client.post(
        f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner")
    ).json()["id"]
    response = client.request(
        method,
        f"/contacts/{cid}/messages/{mid}",
        json={"summary": "x"},
        headers=world.auth("owner"),
    )
    assert_problem(response, 405)


def test_a_correction_amends_an_earlier_entry(client, world, school):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    first = client.post(f"/contacts/{cid}/messages", json=message(), headers=owner).json()
    assert_problem(
        client.post(
            f"/contacts/{cid}/messages", json=message(amends_id=first["id"]), headers=owner
        ),
        422,
    )
    fixed = client.post(
        f"/contacts/{cid}/messages",
        json=message(
            amends_id=first["id"], amend_reason="Wrong kick-off time", summary="10:30 not 10:00"
        ),
        headers=owner,
    ).json()
    assert fixed["amends_id"] == first["id"]
    original = client.get(f"/contacts/{cid}/messages/{first['id']}", headers=owner).json()
    assert original["summary"] == first["summary"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_on": None}, "ends_on"),
        ({"device_ids": []}, "device_ids"),
        ({"pupil_ids": [], "pupil_references": []}, "pupil"),
        ({"platform": "myspace"}, "platform"),
        ({"platform": "other"}, "platform_name"),
        ({"school_id": 1}, "school_id"),
        ({"state": "approved"}, "state"),
    ],
)
def test_bad_requests_name_the_problem_and_write_nothing(client, world, school, db, changes, field):
    body = {k: v for k, v in request_body(school, **changes).items() if v is not None}
    problem = assert_problem(client.post("/contacts", json=body, headers=world.auth("owner")), 422)
    assert field in str(problem)
    assert count_rows(db, "contact") == 0


def test_pupils_and_devices_must_be_of_the_school(client, world, school, db):
    other_pupil = client.post(
        "/pupils",
        json={
            "given_name": "X",
            "family_name": "Y",
            "date_of_birth": dob(12),
            "school_reference": "B1",
        },
        headers=world.auth("other_school"),
    ).json()
    for body in (
        request_body(school, pupil_ids=[other_pupil["id"]]),
        request_body(school, pupil_ids=[], pupil_references=["NOPE"]),
        request_body(school, device_ids=[987654]),
    ):
        assert_problem(client.post("/contacts", json=body, headers=world.auth("owner")), 422)
    assert count_rows(db, "contact") == 0
    by_reference = client.post(
        "/contacts",
        json=request_body(school, pupil_ids=[], pupil_references=["Y1"]),
        headers=world.auth("owner"),
    )
    assert [p["pupil_id"] for p in by_reference.json()["pupils"]] == [school["young"]]


def test_a_refusal_names_the_rule_that_refused(client, world, school):
    """Another manager deciding a request is told who may decide, not who may read."""
    cid = client.post("/contacts", json=request_body(school), headers=world.auth("owner")).json()[
        "id"
    ]
    refused = client.post(
        f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("other_manager")
    )
    assert_problem(refused, 403, detail_contains="line manager or headteacher may decide")
    ended = client.post(
        f"/contacts/{cid}/end", json={"reason": "x"}, headers=world.auth("other_staff")
    )
    assert_problem(ended, 403, detail_contains="owner, their line manager")
