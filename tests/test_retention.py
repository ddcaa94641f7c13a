"""Retention (§7) with the clock moved years ahead: records lose their personal content on the
day their period ends and not before, what a legal hold covers stays whole, the report says
exactly what happened (and the dry run said so first), the change record still verifies, and
the dashboard's figures do not move."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from core import clock
from core.clock import years_after
from scheduler.retention import run_all
from scheduler.runner import run_job
from tests.support.builders import INCIDENT, message, request_body, today
from tests.support.ground import assert_problem
from tests.support.mail import text as mail_text
from tests.support.record import checked

REDACTED = "[redacted]"


def noon_on(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def at(day: date) -> datetime:
    """Move the app's clock to midday of `day` (the fixture puts it back after the test)."""
    instant = noon_on(day)
    clock.set_clock(lambda: instant)
    return instant


def notice(cid: int) -> dict[str, Any]:
    return {
        "contact_id": cid,
        "informed_on": today().isoformat(),
        "informed_by": "Mrs Okafor, school office",
        "method": "letter",
        "reason_explained": "Noah's team chat for fixtures",
    }


def closed_clean_contact(client, world, school) -> int:  # type: ignore[no-untyped-def]
    """A contact with the 17-year-old alone, parents informed, one clean message, ended today
    and its contact method deleted: nothing in it is flagged."""
    owner, manager, admin = (world.auth(w) for w in ("owner", "manager", "admin"))
    body = request_body(school, pupil_ids=[school["older"]])
    cid = int(client.post("/contacts", json=body, headers=owner).json()["id"])
    decided = client.post(
        f"/contacts/{cid}/decision",
        json={"approve": True, "conditions": "Group chat only"},
        headers=manager,
    )
    assert decided.status_code == 200, decided.text
    told = client.post(f"/pupils/{school['older']}/parent-notices", json=notice(cid), headers=admin)
    assert told.status_code == 201, told.text
    logged = client.post(
        f"/contacts/{cid}/messages",
        json=message(summary="Training moved to Thursday", verbatim="Noah, Thursday at 4"),
        headers=owner,
    )
    assert logged.status_code == 201, logged.text
    assert logged.json()["flags"] == [], logged.text
    client.post(f"/contacts/{cid}/end", json={"reason": "Noah left the team"}, headers=owner)
    deleted = client.post(
        f"/contacts/{cid}/deletion", json={"how": "Removed Noah's number"}, headers=owner
    )
    assert deleted.status_code == 200, deleted.text
    return cid


def redacted_ids(report: dict[str, Any], record_type: str) -> list[int]:
    return sorted(
        i for r in report["redacted"] if r["record_type"] == record_type for i in r["ids"]
    )


def kept_ids(report: dict[str, Any], record_type: str) -> list[int]:
    return sorted(i for k in report["kept"] if k["record_type"] == record_type for i in k["ids"])


def plan(client, world, who: str = "dsl") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    shown = client.get("/retention/plan", headers=world.auth(who))
    assert shown.status_code == 200, shown.text
    return dict(shown.json())


def verified(client, world) -> bool:  # type: ignore[no-untyped-def]
    verdict = checked(client, world.auth("dsl"))
    return bool(verdict["ok"]) and verdict["altered"] == []


def test_a_closed_contact_is_redacted_on_the_day_six_years_on_and_everything_still_checks(
    client, world, school, db, mail_settings, mail_server
):
    cid = closed_clean_contact(client, world, school)
    dpo = "dpo@trust.example.org"
    chosen = client.patch(
        f"/trusts/{world.trust}/policy", json={"dpo_email": dpo}, headers=world.auth("trust_admin")
    )
    assert chosen.status_code == 200, chosen.text
    closed = today()
    owner, dsl = world.auth("owner"), world.auth("dsl")

    at(years_after(closed, 6) - timedelta(days=1))  # the day before: nothing is due
    assert redacted_ids(plan(client, world), "contact") == []
    assert run_all(db, mail_settings, clock.now()) == []

    due_day = at(years_after(closed, 6))
    dry = plan(client, world)
    assert redacted_ids(dry, "contact") == [cid]
    assert len(redacted_ids(dry, "message")) == 1
    assert len(redacted_ids(dry, "parent_notice")) == 1
    assert len(redacted_ids(dry, "deletion_task")) == 1
    figures = client.get("/summary", headers=dsl).json()

    [report] = run_all(db, mail_settings, due_day)
    assert report.dry_run is False
    real = report.model_dump(mode="json")
    assert real["redacted"] == dry["redacted"]
    assert real["kept"] == dry["kept"]

    shown = client.get(f"/contacts/{cid}", headers=owner).json()
    assert (shown["purpose"], shown["school_account"]) == (REDACTED, REDACTED)
    assert shown["conditions"] == REDACTED
    assert shown["rejection_reason"] is None
    assert shown["pupils"][0]["end_reason"] == REDACTED
    assert shown["state"] == "closed"
    assert shown["platform"] == "whatsapp"
    [logged] = client.get(f"/contacts/{cid}/messages", headers=owner).json()["items"]
    assert (logged["summary"], logged["verbatim"]) == (REDACTED, REDACTED)
    assert logged["direction"] == "sent"
    assert logged["pupil_ids"] == [school["older"]]
    [told] = client.get(f"/pupils/{school['older']}/parent-notices", headers=dsl).json()
    assert (told["informed_by"], told["reason_explained"]) == (REDACTED, REDACTED)

    assert client.get("/summary", headers=dsl).json() == figures  # statistics unchanged
    assert verified(client, world)  # the redaction is on the chain
    events = client.get("/audit/events?object_type=retention_run", headers=dsl).json()["items"]
    assert {e["action"] for e in events} == {"retention.redacted"}
    with db.engine.begin() as conn:  # anything else done to the redacted record is still seen
        conn.execute(
            text("UPDATE message SET summary = 'Training moved to Thursday' WHERE id = :i"),
            {"i": logged["id"]},
        )
    verdict = checked(client, dsl)
    assert verdict["altered"] == [
        {"record_type": "message", "record_id": logged["id"], "change": "edited"}
    ]

    listed = client.get("/retention/reports", headers=world.auth("trust_admin")).json()["items"]
    assert [r["id"] for r in listed] == [report.id]
    assert listed[0]["redacted"] == real["redacted"]

    run_job("outbox", db, mail_settings, due_day)
    for address in ("trust_admin@a.example.org", dpo):
        [email] = [m for m in mail_server.inbox.to(address) if "Retention run" in m["Subject"]]
        body = mail_text(email)
        assert "  A: 1 contact record(s)" in body  # the school by its name
        assert "Training moved" not in body
        assert "Noah" not in body
    assert run_all(db, mail_settings, due_day) == []  # the next run finds nothing more


def test_flagged_contacts_and_incidents_are_kept_until_the_youngest_pupil_is_25(
    client, world, school, db, settings
):
    owner, manager = world.auth("owner"), world.auth("manager")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=manager)
    flagged = client.post(f"/contacts/{cid}/messages", json=message(), headers=owner).json()
    assert flagged["flags"], "no consent for the 14-year-old: flagged"
    client.post(f"/contacts/{cid}/end", json={"reason": "Done"}, headers=owner)
    involved = {**INCIDENT, "pupils": [{"pupil_id": school["young"], "part": "initiated"}]}
    incident = client.post("/incidents", json=involved, headers=owner).json()["id"]
    young = client.get(f"/pupils/{school['young']}", headers=world.auth("admin")).json()
    turns_25 = years_after(date.fromisoformat(young["date_of_birth"]), 25)

    at(years_after(today(), 7))  # past the six years, but a child-protection record
    early = plan(client, world)
    assert redacted_ids(early, "contact") == []
    assert redacted_ids(early, "incident") == []

    at(turns_25 - timedelta(days=1))
    assert redacted_ids(plan(client, world), "incident") == []
    due = at(turns_25)
    [report] = run_all(db, settings, due)
    assert redacted_ids(report.model_dump(), "contact") == [cid]
    assert redacted_ids(report.model_dump(), "incident") == [incident]
    shown = client.get(f"/incidents/{incident}", headers=world.auth("dsl")).json()
    assert shown["what_happened"] == REDACTED
    assert shown["kind"] == "unsolicited_contact"
    assert verified(client, world)


def hold(client, world, subject_type: str, subject_id: int, case: str) -> int:  # type: ignore[no-untyped-def]
    body = {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "case_reference": case,
        "reason": "Investigation",
    }
    placed = client.post("/legal-holds", json=body, headers=world.auth("dsl"))
    assert placed.status_code == 201, placed.text
    return int(placed.json()["id"])


def release(client, world, hold_id: int) -> None:  # type: ignore[no-untyped-def]
    done = client.post(
        f"/legal-holds/{hold_id}/release", json={"reason": "Closed"}, headers=world.auth("dsl")
    )
    assert done.status_code == 200, done.text


def test_holds_keep_records_whole_until_the_last_is_released(client, world, school, db, settings):
    cid = closed_clean_contact(client, world, school)
    first = hold(client, world, "contact", cid, "LADO/2026/7")
    second = hold(client, world, "pupil", school["older"], "POLICE/88")
    due = at(years_after(today(), 7))

    [report] = run_all(db, settings, due)  # the run files a report of what it kept
    found = report.model_dump()
    assert redacted_ids(found, "contact") == []
    by_case = {(k["case_reference"], k["record_type"]): k["ids"] for k in found["kept"]}
    assert by_case[("LADO/2026/7", "contact")] == [cid]
    assert by_case[("POLICE/88", "contact")] == [cid]
    assert len(by_case[("POLICE/88", "message")]) == 1
    shown = client.get(f"/contacts/{cid}", headers=world.auth("owner")).json()
    assert shown["purpose"] != REDACTED

    release(client, world, first)  # one of two: the other still holds it
    assert kept_ids(plan(client, world), "contact") == [cid]
    release(client, world, second)
    [report] = run_all(db, settings, due)
    assert redacted_ids(report.model_dump(), "contact") == [cid]
    assert verified(client, world)


def test_an_allegation_keeps_the_staff_members_records_ten_years_from_the_hold(
    client, world, school, db, settings
):
    cid = closed_clean_contact(client, world, school)
    placed = today()
    release(client, world, hold(client, world, "staff", world.ids["owner"], "LADO/2026/9"))

    at(years_after(placed, 10) - timedelta(days=1))  # released, but an allegation's records
    assert redacted_ids(plan(client, world), "contact") == []
    at(years_after(placed, 10))
    assert redacted_ids(plan(client, world), "contact") == [cid]


def test_a_leavers_name_and_guardians_go_once_nothing_kept_names_them(
    client, world, school, db, settings
):
    admin = world.auth("admin")
    cid = closed_clean_contact(client, world, school)
    left = today()
    marked = client.patch(
        f"/pupils/{school['older']}", json={"left_on": left.isoformat()}, headers=admin
    ).json()
    # The pupil has records: the leaving date waits for a second person (the headteacher).
    confirmed = client.post(
        f"/pending-changes/{marked['pending_change_id']}/confirm", headers=world.auth("head")
    )
    assert confirmed.status_code == 200, confirmed.text
    guardian = client.post(
        f"/pupils/{school['older']}/guardians",
        json={
            "name": "Femi F",
            "relationship": "father",
            "email": "femi@home.example.org",
            "has_parental_responsibility": True,
        },
        headers=admin,
    ).json()["id"]

    due = at(years_after(left, 6))
    [report] = run_all(db, settings, due)
    found = report.model_dump()
    assert redacted_ids(found, "contact") == [cid]
    assert redacted_ids(found, "pupil") == [school["older"]]
    assert redacted_ids(found, "guardian") == [guardian]
    assert redacted_ids(found, "pupil") != [school["young"]]  # still at school: kept
    pupil = client.get(f"/pupils/{school['older']}", headers=admin).json()
    assert (pupil["given_name"], pupil["family_name"]) == (REDACTED, REDACTED)
    assert pupil["school_reference"] == f"redacted-{school['older']}"
    assert pupil["date_of_birth"].endswith("-01-01")  # the year stays, for statistics
    [kept] = client.get(f"/pupils/{school['older']}/guardians", headers=admin).json()
    assert (kept["name"], kept["email"]) == (REDACTED, None)
    assert verified(client, world)


def test_minimisation_removes_old_links_email_bodies_and_stored_replies(
    client, world, school, db, mail_settings
):
    dsl = world.auth("dsl")
    keyed = {**dsl, "Idempotency-Key": "hold-1"}
    body = {
        "subject_type": "pupil",
        "subject_id": school["young"],
        "case_reference": "C/1",
        "reason": "Investigation",
    }
    assert client.post("/legal-holds", json=body, headers=keyed).status_code == 201
    reset = client.post("/auth/password-reset", json={"email": "owner@a.example.org"})
    assert reset.status_code == 202
    run_job("outbox", db, mail_settings, clock.now())  # the reset link goes out
    with db.engine.connect() as conn:
        sent = conn.execute(text("SELECT count(*) FROM outbox_email WHERE state = 'sent'")).scalar()
    assert sent

    [report] = run_all(db, mail_settings, at(today() + timedelta(days=366)))
    assert report.forgotten.retry_replies == 1
    assert report.forgotten.account_links == 1
    assert report.forgotten.outbox_bodies == sent
    with db.engine.connect() as conn:
        bodies = {r[0] for r in conn.execute(text("SELECT body FROM outbox_email"))}
    assert "[removed after its retention period]" in bodies
    again = client.post("/legal-holds", json=body, headers=keyed)  # the key is forgotten too
    assert again.status_code == 201
    assert again.json()["id"] != 1


def test_the_policy_shows_each_period_with_its_source_and_only_lengthens_them(client, world):
    trust_admin = world.auth("trust_admin")
    shown = client.get(f"/trusts/{world.trust}/policy", headers=world.auth("owner")).json()
    sources = " ".join(p["source"] for p in shown["retention"])
    assert "IRMS" in sources
    assert "KCSIE" in sources
    assert "Limitation Act 1980" in sources
    path = f"/trusts/{world.trust}/policy"
    shorter = client.patch(path, json={"retention_closed_contact_years": 2}, headers=trust_admin)
    assert_problem(shorter, 422)
    longer = client.patch(path, json={"retention_closed_contact_years": 8}, headers=trust_admin)
    assert longer.status_code == 200, longer.text
    assert any("8 years" in p["kept_for"] for p in longer.json()["retention"])
    assert_problem(
        client.patch(path, json={"retention_closed_contact_years": 8}, headers=world.auth("dsl")),
        403,
    )


@pytest.mark.parametrize("who", ["owner", "manager", "admin"])
def test_only_dsls_and_trust_administrators_read_retention(client, world, who):
    assert_problem(client.get("/retention/reports", headers=world.auth(who)), 403)
    assert_problem(client.get("/retention/plan", headers=world.auth(who)), 403)


def test_another_schools_dsl_sees_only_their_own_schools_lines(client, world, school, db, settings):
    closed_clean_contact(client, world, school)
    [report] = run_all(db, settings, at(years_after(today(), 6)))
    mine = client.get("/retention/reports", headers=world.auth("other_school")).json()["items"]
    assert [r["id"] for r in mine] == [report.id]
    assert mine[0]["redacted"] == []
    trust = client.get("/retention/reports", headers=world.auth("trust_dsl")).json()["items"]
    assert trust[0]["redacted"] == report.model_dump(mode="json")["redacted"]


def test_what_the_platform_captured_on_a_contact_goes_with_its_record(
    client, world, school, db, mail_settings
):
    """The captured messages' words and people, and the uploaded file itself, are redacted with
    the contact's record; the file's SHA-256 stays sealed, and the record still verifies."""
    import json as jsonlib

    closed_clean_contact(client, world, school)
    when = (clock.now() - timedelta(days=1)).strftime("%d/%m/%Y, %H:%M")
    chat = f"{when} - Noah F: Is it Thursday?\n{when} - School: Yes\n".encode()
    made = client.post(
        "/captures",
        headers=world.auth("dsl"),
        data={
            "platform": "whatsapp",
            "school_account": request_body(school)["school_account"],
            "source": "whatsapp_export",
            "school_name": "School",
            "names": jsonlib.dumps({"Noah F": school["older"]}),
        },
        files={"file": ("WhatsApp Chat with Noah F.txt", chat)},
    )
    assert made.status_code == 201, made.text
    due_day = at(years_after(today(), 6))
    dry = plan(client, world)
    assert len(redacted_ids(dry, "captured_message")) == 2
    assert redacted_ids(dry, "capture_upload") == [made.json()["id"]]
    run_all(db, mail_settings, due_day)
    with db.engine.connect() as conn:
        words = conn.execute(text("SELECT content, sender FROM captured_message")).all()
        kept = conn.execute(text("SELECT sha256, file_name FROM capture_upload")).one()
        files = conn.execute(text("SELECT data FROM capture_file")).scalars().all()
    assert set(words) == {("[redacted]", "[redacted]")}
    assert kept == (made.json()["sha256"], "[redacted]")
    assert files == [None]
    assert verified(client, world)


# ---------------------------------------------------------------- concerns about adults


def closed_concern(client, world, about: str, kind: str = "low_level") -> int:  # type: ignore[no-untyped-def]
    made = client.post(
        "/concerns",
        json={
            "kind": kind,
            "subject_staff_id": world.ids[about],
            "happened_at": "2026-01-01T10:00:00Z",
            "what_happened": "Followed a pupil on a personal account",
        },
        headers=world.auth("other_staff"),
    )
    assert made.status_code == 201, made.text
    cid = int(made.json()["id"])
    outcome = "addressed" if kind == "low_level" else "unfounded"
    closed = client.post(
        f"/concerns/{cid}/outcome",
        json={"outcome": outcome, "outcome_on": today().isoformat(), "reason": "Spoken to"},
        headers=world.auth("head"),
    )
    assert closed.status_code == 200, closed.text
    return cid


def test_a_low_level_concern_is_kept_until_they_leave_and_the_trust_s_period_after(
    client, world, db, settings
):
    cid = closed_concern(client, world, "owner")
    attached = client.post(
        f"/concerns/{cid}/attachments",
        files={"file": ("note.txt", b"What was said")},
        headers=world.auth("head"),
    ).json()["attachments"][0]
    start = today()
    at(years_after(start, 30))  # still with the school: kept, however long
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == []
    clock.set_clock(None)
    left = client.patch(
        f"/staff/{world.ids['owner']}", json={"is_active": False}, headers=world.auth("admin")
    )
    assert left.status_code == 200, left.text
    at(years_after(start, 6) - timedelta(days=1))
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == []
    at(years_after(start, 6))
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == [cid]
    # The trust keeps them longer, and says so beside the period.
    clock.set_clock(None)
    policy = client.patch(
        f"/trusts/{world.trust}/policy",
        json={"retention_low_level_years": 8},
        headers=world.auth("trust_admin"),
    )
    assert policy.status_code == 200, policy.text
    [row] = [p for p in policy.json()["retention"] if "low-level" in p["records"]]
    assert row["kept_for"] == "until they leave, then 8 years"
    assert "KCSIE" in row["source"]
    at(years_after(start, 7))
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == []
    [report] = run_all(db, settings, at(years_after(start, 8)))
    assert cid in [i for r in report.redacted if r.record_type == "concern" for i in r.ids]
    file = client.get(f"/concerns/{cid}", headers=world.auth("head")).json()
    assert file["what_happened"] == REDACTED
    got = client.get(f"/concerns/{cid}/attachments/{attached['id']}", headers=world.auth("head"))
    assert got.status_code == 404
    assert "retention" in got.json()["detail"]
    assert verified(client, world)


def test_an_allegation_is_kept_while_its_hold_stands_and_ten_years_after(
    client, world, db, settings
):
    cid = closed_concern(client, world, "owner", kind="allegation")
    start = today()
    at(years_after(start, 11))
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == []  # held
    assert cid in kept_ids(plan(client, world, "trust_dsl"), "concern")
    clock.set_clock(None)
    hold_id = client.get(f"/concerns/{cid}", headers=world.auth("head")).json()["hold_id"]
    released = client.post(
        f"/legal-holds/{hold_id}/release",
        json={"reason": "Closed"},
        headers=world.auth("trust_dsl"),
    )
    assert released.status_code == 200, released.text
    at(years_after(start, 10) - timedelta(days=1))
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == []
    at(years_after(start, 10))
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == [cid]


def test_the_retention_plan_names_no_concern_to_those_who_do_not_handle_it(client, world):
    about_dsl = closed_concern(client, world, "dsl")
    left = client.patch(
        f"/staff/{world.ids['dsl']}", json={"is_active": False}, headers=world.auth("admin")
    )
    assert left.status_code == 200, left.text
    at(years_after(today(), 7))
    assert redacted_ids(plan(client, world, "trust_dsl"), "concern") == [about_dsl]
    for outsider in ("trust_admin", "other_school"):
        shown = plan(client, world, outsider)
        assert not [r for r in shown["redacted"] if r["record_type"] == "concern"]
