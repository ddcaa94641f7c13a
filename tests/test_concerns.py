"""Concerns about adults (KCSIE Part 4): raised by anyone, told only "received", read by the
case manager and the DSL (the chair of governors for the headteacher), never by their subject;
allegations held and chased to the LADO; the case file, its attachments and its outcome."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select

from contacts.concerns.models import ConcernFile
from contacts.concerns.raising import lado_due
from contacts.oversight.pack_check import verify_pack
from core.directory.models import School
from core.models import OutboxEmail
from core.policy import deployment_policy
from core.record.models import AuditEvent
from scheduler.runner import run_job
from tests.support.builders import TODAY, log, message
from tests.support.ground import test_settings

SETTINGS = test_settings(Path("/tmp/contactlog-concern-settings"))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def concern(subject_id: int, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "low_level",
        "subject_staff_id": subject_id,
        "happened_at": "2026-01-01T10:00:00Z",
        "what_happened": "Messaged a pupil late at night from a personal account.",
        "platform": "instagram",
    }
    return {**body, **changes}


def raise_(client, world, who: str, about: str, **changes: object) -> int:  # type: ignore[no-untyped-def]
    made = client.post(
        "/concerns", json=concern(world.ids[about], **changes), headers=world.auth(who)
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_the_raiser_is_told_received_and_nothing_more(client, world):
    made = client.post(
        "/concerns", json=concern(world.ids["owner"]), headers=world.auth("other_staff")
    )
    assert made.status_code == 201, made.text
    assert set(made.json()) == {"id", "received_at", "status"}
    assert made.json()["status"] == "received"
    cid = made.json()["id"]
    # Not the file, not the list, not who reads it.
    assert client.get(f"/concerns/{cid}", headers=world.auth("other_staff")).status_code == 404
    listed = client.get("/concerns", headers=world.auth("other_staff")).json()
    assert listed["items"] == []
    [mine] = client.get("/concerns/raised", headers=world.auth("other_staff")).json()
    assert mine == {"id": cid, "received_at": made.json()["received_at"], "status": "received"}


# reader → may they read a concern about `owner` (a teacher)?
READS_ABOUT_A_TEACHER = {
    "head": True,
    "dsl": True,
    "trust_dsl": True,
    "owner": False,  # its subject
    "other_staff": False,  # its raiser
    "manager": False,  # the subject's line manager is not told
    "admin": False,
    "trust_admin": False,
    "case_manager": False,  # the chair handles the headteacher's, not every teacher's
    "other_school": False,
}


@pytest.mark.parametrize(("reader", "reads"), sorted(READS_ABOUT_A_TEACHER.items()))
def test_who_reads_a_concern_about_a_teacher(client, world, reader, reads):
    cid = raise_(client, world, "other_staff", "owner")
    got = client.get(f"/concerns/{cid}", headers=world.auth(reader))
    assert got.status_code == (200 if reads else 404), got.text
    listed = client.get("/concerns", headers=world.auth(reader)).json()["items"]
    assert [c["id"] for c in listed] == ([cid] if reads else [])
    if reads:
        assert got.json()["subject"] == "Owner"
        assert got.json()["raised_by"] == "Other Staff"


READS_ABOUT_THE_HEAD = {
    "case_manager": True,
    "trust_dsl": True,
    "head": False,  # its subject
    "dsl": False,  # goes to the chair instead
    "admin": False,
    "manager": False,
}


@pytest.mark.parametrize(("reader", "reads"), sorted(READS_ABOUT_THE_HEAD.items()))
def test_a_concern_about_the_headteacher_goes_to_the_case_manager(client, world, reader, reads):
    cid = raise_(client, world, "dsl", "head")
    got = client.get(f"/concerns/{cid}", headers=world.auth(reader))
    assert got.status_code == (200 if reads else 404), got.text
    if reads:
        assert got.json()["about_headteacher"] is True


def test_a_self_report_is_marked_and_its_raiser_sees_nothing_of_it(client, world):
    cid = raise_(client, world, "dsl", "dsl", what_happened="I replied to a pupil's DM.")
    assert client.get(f"/concerns/{cid}", headers=world.auth("dsl")).status_code == 404
    got = client.get(f"/concerns/{cid}", headers=world.auth("head")).json()
    assert got["self_report"] is True


def test_an_allegation_about_the_dsl_is_hidden_from_her_everywhere(client, world, db, settings):
    """She holds every role that reads concerns in her school; the allegation, its hold, its
    events and its emails are all out of her reach."""
    cid = raise_(client, world, "owner", "dsl", kind="allegation")
    dsl = world.auth("dsl")
    assert client.get(f"/concerns/{cid}", headers=dsl).status_code == 404
    assert client.get("/concerns", headers=dsl).json()["items"] == []
    assert (
        client.get(f"/concerns?subject_staff_id={world.ids['dsl']}", headers=dsl).json()["items"]
        == []
    )
    # The hold it placed is on the record for others, never for her.
    head_view = client.get(f"/concerns/{cid}", headers=world.auth("head")).json()
    assert head_view["hold_id"] is not None
    holds = client.get("/legal-holds", headers=dsl).json()["items"]
    assert head_view["hold_id"] not in [h["id"] for h in holds]
    trust_holds = client.get("/legal-holds", headers=world.auth("trust_dsl")).json()["items"]
    assert head_view["hold_id"] in [h["id"] for h in trust_holds]
    # Not one event of it in her change record; the trust DSL's has them.
    events = client.get("/audit/events?limit=200", headers=dsl).json()["items"]
    assert not [e for e in events if e["object_type"] == "concern"]
    theirs = client.get("/audit/events?limit=200", headers=world.auth("trust_dsl")).json()
    assert [e for e in theirs["items"] if e["object_type"] == "concern"]
    # Nor an email: its readers are told, she is not.
    run_job("concerns", db, settings, datetime.now(UTC))
    with db.session() as session:
        told = session.exec(
            select(OutboxEmail.to_staff_id).where(OutboxEmail.kind == "concern_raised")
        ).all()
    assert world.ids["dsl"] not in told
    assert world.ids["head"] in told


def test_the_dsl_reading_her_own_pattern_or_the_head_s_finds_nothing(client, world):
    raise_(client, world, "owner", "dsl")
    assert (
        client.get(f"/staff/{world.ids['dsl']}/pattern", headers=world.auth("dsl")).status_code
        == 404
    )
    assert (
        client.get(f"/staff/{world.ids['head']}/pattern", headers=world.auth("dsl")).status_code
        == 404
    )
    got = client.get(f"/staff/{world.ids['dsl']}/pattern", headers=world.auth("head"))
    assert got.status_code == 200
    assert [i["kind"] for i in got.json()["items"]] == ["concern"]


def test_a_pattern_joins_concerns_flags_and_incidents_in_time_order(client, world, contact):
    cid = contact
    log(client, world, cid, device_tag="MY-OWN-PHONE")
    client.post(
        "/incidents",
        json={
            "kind": "unsolicited_contact",
            "platform": "instagram",
            "occurred_at": "2026-02-01T10:00:00Z",
            "what_happened": "A follow request",
            "personal_information_shared": False,
            "other_person": "A parent",
        },
        headers=world.auth("owner"),
    )
    raise_(client, world, "other_staff", "owner")
    raise_(client, world, "manager", "owner", happened_at="2026-03-01T10:00:00Z")
    got = client.get(f"/staff/{world.ids['owner']}/pattern", headers=world.auth("dsl")).json()
    kinds = {i["kind"] for i in got["items"]}
    assert {"concern", "flagged_entry", "incident"} <= kinds
    times = [i["at"] for i in got["items"]]
    assert times == sorted(times)
    assert got["low_level_concerns"] == 2


def test_a_concern_points_only_to_records_of_its_school(client, world, contact):
    cid = contact
    good = client.post(
        "/concerns",
        json=concern(world.ids["owner"], records=[{"record_type": "contact", "record_id": cid}]),
        headers=world.auth("other_staff"),
    )
    assert good.status_code == 201
    file = client.get(f"/concerns/{good.json()['id']}", headers=world.auth("dsl")).json()
    assert file["records"] == [{"record_type": "contact", "record_id": cid}]
    bad = client.post(
        "/concerns",
        json=concern(
            world.ids["owner"], records=[{"record_type": "incident", "record_id": 999999}]
        ),
        headers=world.auth("other_staff"),
    )
    assert bad.status_code == 422
    assert "records" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"subject_staff_id": None}, "subject_staff_id"),
        ({"subject_kind": "volunteer"}, "name the person it is about"),
        ({"kind": "rumour"}, "kind"),
        ({"source_name": "A parent"}, "source_name"),
        ({"what_happened": ""}, "what_happened"),
    ],
)
def test_a_concern_that_says_too_little_is_refused_by_name(client, world, body, says):
    made = client.post(
        "/concerns", json=concern(world.ids["owner"], **body), headers=world.auth("other_staff")
    )
    assert made.status_code == 422
    assert says in str(made.json())
    assert client.get("/concerns", headers=world.auth("dsl")).json()["items"] == []


def test_a_volunteer_by_name_and_a_concern_on_a_pupil_s_behalf(client, world):
    made = client.post(
        "/concerns",
        json={
            **concern(0),
            "subject_staff_id": None,
            "subject_kind": "volunteer",
            "subject_name": "Pat Jones (football coach)",
            "on_behalf_of": "pupil",
            "source_name": "Ellie B",
        },
        headers=world.auth("owner"),
    )
    assert made.status_code == 201, made.text
    got = client.get(f"/concerns/{made.json()['id']}", headers=world.auth("dsl")).json()
    assert got["subject"] == "Pat Jones (football coach)"
    assert got["on_behalf_of"] == "pupil"
    assert got["source_name"] == "Ellie B"


def test_a_retried_concern_is_recorded_once(client, world):
    headers = {**world.auth("other_staff"), "Idempotency-Key": "concern-retry-1"}
    first = client.post("/concerns", json=concern(world.ids["owner"]), headers=headers)
    again = client.post("/concerns", json=concern(world.ids["owner"]), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len(client.get("/concerns", headers=world.auth("dsl")).json()["items"]) == 1


# ---------------------------------------------------------------- allegations and the LADO


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)))  # noqa: DTZ001
def test_the_lado_is_due_one_working_day_after_raising(naive):
    policy = deployment_policy(SETTINGS)
    school = School(id=1, trust_id=1, name="A")
    raised = naive.replace(tzinfo=UTC)
    due = lado_due(policy, school, raised)
    local = raised.astimezone(ZoneInfo("Europe/London"))
    assert due.weekday() < 5
    assert due > raised
    # The next working day: a weekday raise is due the next weekday, a Friday's on Monday.
    days = (due.date() - local.date()).days
    assert days == {4: 3, 5: 2}.get(local.weekday(), 1)


def test_an_allegation_is_held_referred_and_closed(client, world, db):
    cid = raise_(client, world, "other_staff", "owner", kind="allegation")
    head = world.auth("head")
    file = client.get(f"/concerns/{cid}", headers=head).json()
    assert file["lado_due_at"] is not None
    assert file["lado_referred"] is False
    assert file["hold_id"] is not None
    # The owner cannot see the hold, and their raiser cannot release it.
    release = client.post(
        f"/legal-holds/{file['hold_id']}/release", json={"reason": "x"}, headers=world.auth("dsl")
    )
    assert release.status_code == 403
    referred = client.post(
        f"/concerns/{cid}/referral",
        json={
            "agency": "lado",
            "referred_on": TODAY.isoformat(),
            "officer": "J. Smith (LADO)",
            "reference": "LADO/2026/41",
            "advice": "Investigate internally; report back in 10 days.",
        },
        headers=head,
    )
    assert referred.status_code == 201, referred.text
    assert referred.json()["lado_referred"] is True
    [ref] = referred.json()["referrals"]
    assert ref["recorded_by"] == "Head"
    decided = client.post(
        f"/concerns/{cid}/notes",
        json={
            "kind": "decision",
            "text": "Not to refer to the police.",
            "reason": "The LADO advised no criminal threshold.",
        },
        headers=head,
    )
    assert decided.status_code == 201
    wrong = client.post(
        f"/concerns/{cid}/outcome",
        json={"outcome": "addressed", "outcome_on": TODAY.isoformat(), "reason": "r"},
        headers=head,
    )
    assert wrong.status_code == 422
    closed = client.post(
        f"/concerns/{cid}/outcome",
        json={"outcome": "unfounded", "outcome_on": TODAY.isoformat(), "reason": "No evidence."},
        headers=head,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["open"] is False
    again = client.post(
        f"/concerns/{cid}/outcome",
        json={"outcome": "malicious", "outcome_on": TODAY.isoformat(), "reason": "Changed"},
        headers=world.auth("dsl"),
    )
    assert again.status_code == 409
    with db.session() as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.object_type == "concern")
        ).all()
    assert actions.count("concern.closed") == 1
    assert "access.concern" in actions


def test_an_allegation_not_referred_is_chased_each_school_day(client, world, db, settings):
    cid = raise_(client, world, "other_staff", "owner", kind="allegation")
    due = datetime.fromisoformat(
        client.get(f"/concerns/{cid}", headers=world.auth("head")).json()["lado_due_at"]
    )
    settings = settings
    run_job("concerns", db, settings, due - timedelta(minutes=5))
    with db.session() as session:
        assert not session.exec(
            select(OutboxEmail).where(OutboxEmail.kind == "concern_lado_overdue")
        ).all()
    after = due + timedelta(minutes=5)
    while after.weekday() >= 5:
        after += timedelta(days=1)
    run_job("concerns", db, settings, after)
    run_job("concerns", db, settings, after + timedelta(minutes=1))  # once a day, not a minute
    with db.session() as session:
        chased = session.exec(
            select(OutboxEmail).where(OutboxEmail.kind == "concern_lado_overdue")
        ).all()
    assert sorted(e.to_staff_id for e in chased) == sorted(
        world.ids[w] for w in ("head", "dsl", "trust_dsl")
    )
    for email in chased:
        assert "Owner" not in email.body
        assert "Other Staff" not in email.body
        assert f"/app/concerns/{cid}" in email.body


def test_two_case_managers_closing_at_once_one_wins(client, world):
    """The sequential race: the second is told the case is closed (409); the threaded race for
    every once-only change is in tests/test_once_only.py."""
    cid = raise_(client, world, "other_staff", "owner")
    body = {"outcome": "addressed", "outcome_on": TODAY.isoformat(), "reason": "Advice given."}
    first = client.post(f"/concerns/{cid}/outcome", json=body, headers=world.auth("head"))
    second = client.post(f"/concerns/{cid}/outcome", json=body, headers=world.auth("dsl"))
    assert (first.status_code, second.status_code) == (200, 409)


# ---------------------------------------------------------------- actions


def test_an_action_goes_only_to_someone_who_handles_the_case_and_is_chased(
    client, world, db, settings
):
    cid = raise_(client, world, "other_staff", "owner")
    head = world.auth("head")
    to_subject = client.post(
        f"/concerns/{cid}/actions",
        json={"what": "Meet", "owner_id": world.ids["owner"], "due_on": TODAY.isoformat()},
        headers=head,
    )
    assert to_subject.status_code == 422
    assert "owner_id" in to_subject.json()["detail"]
    made = client.post(
        f"/concerns/{cid}/actions",
        json={
            "what": "Speak to the member of staff about the code of conduct",
            "owner_id": world.ids["dsl"],
            "due_on": TODAY.isoformat(),
        },
        headers=head,
    )
    assert made.status_code == 201, made.text
    [action] = made.json()["actions"]
    assert action["owner"] == "Dsl"
    later = datetime.now(UTC) + timedelta(days=2)
    run_job("concerns", db, settings, later)
    with db.session() as session:
        [chase] = session.exec(
            select(OutboxEmail).where(OutboxEmail.kind == "concern_action_due")
        ).all()
    assert chase.to_staff_id == world.ids["dsl"]
    done = client.post(f"/concerns/{cid}/actions/{action['id']}/done", headers=world.auth("dsl"))
    assert done.status_code == 200
    assert done.json()["actions"][0]["done_at"] is not None
    twice = client.post(f"/concerns/{cid}/actions/{action['id']}/done", headers=head)
    assert twice.status_code == 409


def test_the_review_names_staff_with_more_than_one_low_level_concern(client, world, db, settings):
    raise_(client, world, "other_staff", "owner")
    raise_(client, world, "manager", "owner")
    raise_(client, world, "owner", "manager")
    settings = settings
    run_job("concerns", db, settings, datetime.now(UTC))
    run_job("concerns", db, settings, datetime.now(UTC) + timedelta(hours=1))
    with db.session() as session:
        reviews = session.exec(
            select(OutboxEmail).where(OutboxEmail.kind == "concern_review")
        ).all()
    told = sorted(e.to_staff_id for e in reviews)
    assert told == sorted(world.ids[w] for w in ("head", "dsl", "trust_dsl"))
    assert all("1 member of staff has" in e.body for e in reviews)
    assert all("Owner" not in e.body for e in reviews)
    got = client.get("/concerns/review", headers=world.auth("head")).json()
    assert got == [{"staff_id": world.ids["owner"], "name": "Owner", "low_level_concerns": 2}]
    assert client.get("/concerns/review", headers=world.auth("owner")).json() == []


# ---------------------------------------------------------------- attachments


def test_an_attachment_is_sealed_and_served_only_to_save(client, world):
    cid = raise_(client, world, "other_staff", "owner")
    head = world.auth("head")
    made = client.post(
        f"/concerns/{cid}/attachments",
        files={"file": ("../../etc/screenshot.png", PNG, "image/png")},
        data={"description": "Screenshot of the DM"},
        headers=head,
    )
    assert made.status_code == 201, made.text
    [attached] = made.json()["attachments"]
    assert attached["file_name"] == "screenshot.png"
    assert attached["sha256"] == hashlib.sha256(PNG).hexdigest()
    url = f"/concerns/{cid}/attachments/{attached['id']}"
    got = client.get(url, headers=world.auth("dsl"))
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["content-disposition"].startswith('attachment; filename="screenshot.png"')
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    for outsider in ("owner", "other_staff", "admin", "manager"):
        assert client.get(url, headers=world.auth(outsider)).status_code == 404
    again = client.post(
        f"/concerns/{cid}/attachments", files={"file": ("copy.png", PNG)}, headers=head
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("name", "data", "status", "says"),
    [
        ("letter.exe", b"MZ\x90\x00", 422, ".exe is not taken"),
        ("photo.png", b"%PDF-1.4 a letter", 422, "named .png but is application/pdf"),
        ("notes.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 422, "named .txt but is image/png"),
        ("chat.txt", b"caf\xe9 \x00", 422, "named .txt"),
        ("noextension", b"hello", 422, "no extension"),
        ("empty.txt", b"", 422, "empty"),
        ("huge.txt", b"a" * (10 * 1024 * 1024 + 1), 413, ""),
    ],
)
def test_an_attachment_that_is_not_what_it_claims_is_refused(  # type: ignore[no-untyped-def]
    client, world, name, data, status, says
):
    cid = raise_(client, world, "other_staff", "owner")
    made = client.post(
        f"/concerns/{cid}/attachments", files={"file": (name, data)}, headers=world.auth("head")
    )
    assert made.status_code == status, made.text
    assert made.headers["content-type"] == "application/problem+json"
    assert says in made.json()["detail"]
    assert client.get(f"/concerns/{cid}", headers=world.auth("head")).json()["attachments"] == []


def test_a_file_swapped_in_the_database_is_not_handed_out_as_evidence(client, world, db):
    cid = raise_(client, world, "other_staff", "owner")
    made = client.post(
        f"/concerns/{cid}/attachments",
        files={"file": ("chat.txt", b"the real chat")},
        headers=world.auth("head"),
    ).json()
    [attached] = made["attachments"]
    with db.transaction() as session:
        stored = session.get(ConcernFile, attached["id"])
        assert stored is not None
        stored.data = b"a kinder chat"
        session.add(stored)
    got = client.get(f"/concerns/{cid}/attachments/{attached['id']}", headers=world.auth("head"))
    assert got.status_code == 409
    assert "no longer matches" in got.json()["detail"]


def test_a_message_logged_elsewhere_is_no_record_of_a_concern(client, world, contact):
    """Keeping the suite honest: a concern never shows in the subject's own contact."""
    cid = contact
    client.post(f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner"))
    raise_(
        client,
        world,
        "other_staff",
        "owner",
        records=[{"record_type": "contact", "record_id": cid}],
    )
    got = client.get(f"/contacts/{cid}", headers=world.auth("owner")).text
    assert "concern" not in got.lower()


# ---------------------------------------------------------------- nothing about oneself

# (raiser, subject): each subject holds a role that reads concerns at their school or trust.
ABOUT_ONESELF = [
    ("owner", "dsl"),  # a school DSL under allegation
    ("dsl", "trust_dsl"),  # a trust DSL under allegation
    ("dsl", "head"),  # the headteacher, who handles every other concern
    ("head", "case_manager"),  # the chair of governors
]


@pytest.mark.parametrize(("raiser", "subject"), ABOUT_ONESELF)
def test_every_concern_route_answers_its_subject_as_if_it_did_not_exist(  # type: ignore[no-untyped-def]
    client, world, db, settings, raiser, subject
):
    """Reads, writes, files, the pattern, the review, the change record and the emails: the
    subject meets a concern about themselves nowhere, whatever their roles."""
    cid = raise_(client, world, raiser, subject, kind="allegation")
    raise_(client, world, raiser, subject)  # and two low-level ones: the review would name them
    raise_(client, world, raiser, subject)
    reader = "trust_dsl" if subject != "trust_dsl" else "dsl"
    file = client.post(
        f"/concerns/{cid}/attachments",
        files={"file": ("chat.txt", b"the chat")},
        headers=world.auth(reader),
    ).json()
    [attached] = file["attachments"]
    me = world.auth(subject)
    today = TODAY.isoformat()
    writes = {
        f"/concerns/{cid}/notes": {"text": "I saw it"},
        f"/concerns/{cid}/referral": {"agency": "lado", "referred_on": today},
        f"/concerns/{cid}/actions": {"what": "x", "owner_id": world.ids[subject], "due_on": today},
        f"/concerns/{cid}/outcome": {"outcome": "false", "outcome_on": today, "reason": "Mine"},
    }
    for path, body in writes.items():
        got = client.post(path, json=body, headers=me)
        assert got.status_code == 404, (path, got.text)
        assert got.json()["detail"] == "No such concern."
    attach = client.post(
        f"/concerns/{cid}/attachments", files={"file": ("mine.txt", b"x")}, headers=me
    )
    assert attach.status_code == 404
    for path in (
        f"/concerns/{cid}",
        f"/concerns/{cid}/attachments/{attached['id']}",
        f"/staff/{world.ids[subject]}/pattern",
    ):
        assert client.get(path, headers=me).status_code == 404, path
    assert client.get("/concerns", headers=me).json()["items"] == []
    assert client.get("/concerns/review", headers=me).json() == []
    # Someone who handles it reads their pattern: that read is not in the subject's record.
    pattern = client.get(f"/staff/{world.ids[subject]}/pattern", headers=world.auth(reader))
    assert pattern.status_code == 200, pattern.text
    if subject in ("dsl", "trust_dsl"):
        events = client.get("/audit/events?limit=200", headers=me).json()["items"]
        assert not [e for e in events if e["object_type"] == "concern" or "pattern" in e["action"]]
    run_job("concerns", db, settings, datetime.now(UTC))
    with db.session() as session:
        told = session.exec(
            select(OutboxEmail.to_staff_id).where(col(OutboxEmail.kind).like("concern%"))
        ).all()
    assert told
    assert world.ids[subject] not in told
    # Someone who does handle it sees it all.
    assert client.get(f"/concerns/{cid}", headers=world.auth(reader)).status_code == 200


def test_a_subject_access_export_says_what_is_withheld_whether_or_not_there_is_any(client, world):
    """The same words for a member of staff with concerns about them and one without: the
    export neither confirms nor denies, and says why (DPA 2018, Schedule 2)."""
    raise_(client, world, "other_staff", "owner", what_happened="Messaged Ava at 11pm")
    dsl = world.auth("dsl")
    exports = {}
    for who in ("owner", "other_staff"):
        request = client.post(
            "/subject-access-requests",
            json={
                "subject_type": "staff",
                "subject_id": world.ids[who],
                "requested_by": "By email",
                "received_on": TODAY.isoformat(),
            },
            headers=dsl,
        ).json()
        got = client.get(
            f"/staff/{world.ids[who]}/subject-access?request_id={request['id']}", headers=dsl
        )
        assert got.status_code == 200, got.text
        exports[who] = got.json()
    assert exports["owner"]["withheld"] == exports["other_staff"]["withheld"]
    assert any("Schedule 2, paragraph 16" in w for w in exports["owner"]["withheld"])
    assert "11pm" not in str(exports["owner"])
    assert "concern" not in str({k: v for k, v in exports["owner"].items() if k != "withheld"})


def test_the_hold_an_allegation_places_is_seen_only_by_those_who_handle_it(client, world):
    """An allegation about the headteacher goes to the chair: the school's DSL, who reads every
    other hold, does not learn of it from the list of holds either."""
    cid = raise_(client, world, "manager", "head", kind="allegation")
    hold_id = client.get(f"/concerns/{cid}", headers=world.auth("case_manager")).json()["hold_id"]
    seen = {
        who: [h["id"] for h in client.get("/legal-holds", headers=world.auth(who)).json()["items"]]
        for who in ("dsl", "trust_dsl")
    }
    assert hold_id not in seen["dsl"]
    assert hold_id in seen["trust_dsl"]
    release = client.post(
        f"/legal-holds/{hold_id}/release", json={"reason": "x"}, headers=world.auth("dsl")
    )
    assert release.status_code == 404


def test_a_concern_s_evidence_pack_checks_offline_and_names_its_people(client, world, contact):
    made = client.post(
        "/concerns",
        json=concern(
            world.ids["owner"],
            kind="allegation",
            records=[{"record_type": "contact", "record_id": contact}],
        ),
        headers=world.auth("other_staff"),
    )
    cid = made.json()["id"]
    head = world.auth("head")
    client.post(
        f"/concerns/{cid}/attachments",
        files={"file": ("../dm.png", PNG)},
        headers=head,
    )
    client.post(
        f"/concerns/{cid}/referral",
        json={"agency": "lado", "referred_on": TODAY.isoformat(), "reference": "LADO/7"},
        headers=head,
    )
    for outsider in ("owner", "other_staff", "admin"):
        got = client.get(f"/concerns/{cid}/evidence-pack", headers=world.auth(outsider))
        assert got.status_code == 404
    got = client.get(f"/concerns/{cid}/evidence-pack", headers=head)
    assert got.status_code == 200, got.text
    assert got.headers["content-disposition"] == (
        f'attachment; filename="contactlog-concern-{cid}.zip"'
    )
    pack = zipfile.ZipFile(io.BytesIO(got.content))
    assert verify_pack(io.BytesIO(got.content)) == []
    names = set(pack.namelist())
    [attached] = [n for n in names if n.startswith("attachments/") and n.endswith(".png")]
    assert pack.read(attached) == PNG
    assert "records/concern.json" in names
    words = pack.read("case_file.txt").decode()
    assert "about Owner, raised by Other Staff" in words
    assert "reference LADO/7" in words
    staff = {s["name"] for s in json.loads(pack.read("records/staff.json"))}
    assert {"Owner", "Other Staff", "Head"} <= staff
    events = [json.loads(line) for line in pack.read("events.jsonl").splitlines()]
    assert {"concern.raised", "concern.referred"} <= {e["action"] for e in events}


def test_a_low_level_concern_that_meets_the_threshold_becomes_an_allegation(client, world):
    cid = raise_(client, world, "other_staff", "owner")
    head = world.auth("head")
    assert client.get(f"/concerns/{cid}", headers=head).json()["hold_id"] is None
    changed = client.post(
        f"/concerns/{cid}/kind",
        json={"kind": "allegation", "reason": "A second pupil says the same"},
        headers=head,
    )
    assert changed.status_code == 200, changed.text
    file = changed.json()
    assert file["kind"] == "allegation"
    assert file["hold_id"] is not None
    assert file["lado_due_at"] is not None
    [decision] = file["notes"]
    assert decision["kind"] == "decision"
    assert decision["reason"] == "A second pupil says the same"
    again = client.post(
        f"/concerns/{cid}/kind", json={"kind": "allegation", "reason": "x"}, headers=head
    )
    assert again.status_code == 409
    back = client.post(
        f"/concerns/{cid}/kind",
        json={"kind": "low_level", "reason": "The LADO advised it is not"},
        headers=head,
    ).json()
    assert back["lado_due_at"] is None
    assert back["hold_id"] == file["hold_id"]  # the hold stays until a trust DSL releases it
    assert (
        client.post(
            f"/concerns/{cid}/kind",
            json={"kind": "allegation", "reason": "x"},
            headers=world.auth("owner"),
        ).status_code
        == 404
    )
