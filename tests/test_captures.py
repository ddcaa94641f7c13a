"""Uploading what the platform captured, and the log checked against it, as the people who use
it see it: a teacher uploads the school phone's WhatsApp export and is shown what is missing
from her log, logs it in one tap; a message before approval is a breach; a name nobody has said
is an unknown participant; a file uploaded twice, or an export that overlaps an earlier one,
stores nothing twice; a file that cannot be read stores nothing and says where."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from core import clock
from scheduler.runner import run_job
from tests.support.builders import approved_contact, message, request_body
from tests.support.exports import Said, android_chat, iphone_chat, iphone_zip
from tests.support.ground import count_rows
from tests.support.pages import as_person

ACCOUNT = "Riverside U15 football (school phone)"
SCHOOL_NAME = "Riverside U15 (School)"
PUPIL = "Ellie B"


def _wall(at: datetime) -> datetime:
    """The phone's wall clock (London) at an instant, as an export writes it."""
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None)


def _hours_on(hours: int) -> datetime:
    """The clock moved on: what follows happens `hours` after the contact was approved."""
    at = (clock.now() + timedelta(hours=hours)).replace(microsecond=0)
    clock.set_clock(lambda: at)
    return at


def upload(client, headers, data: bytes, *, name: str, names=None, **fields):  # type: ignore[no-untyped-def]
    form = {
        "platform": "whatsapp",
        "school_account": ACCOUNT,
        "source": "whatsapp_export",
        "school_name": SCHOOL_NAME,
        "names": json.dumps(names or {}),
        **fields,
    }
    return client.post("/captures", headers=headers, data=form, files={"file": (name, data)})


def _export(lines: list[Said]) -> bytes:
    """As the school phone exports the chat with Ellie: the chat's name in its first notice."""
    first = lines[0].at - timedelta(days=30)
    return iphone_zip(iphone_chat(lines, chat=PUPIL, notice_at=first))


def test_a_teacher_is_shown_what_is_missing_from_her_log_and_logs_it_in_one_tap(
    client, world, school
):
    owner = world.auth("owner")
    cid = approved_contact(client, world, school)
    now = _hours_on(3)
    logged_at = now - timedelta(hours=2)
    entry = client.post(
        f"/contacts/{cid}/messages",
        json=message(occurred_at=logged_at.isoformat(), pupil_ids=[school["young"]]),
        headers=owner,
    ).json()
    lines = [
        Said(SCHOOL_NAME, _wall(logged_at + timedelta(minutes=3)), "Kick-off is at 10"),
        Said(PUPIL, _wall(now - timedelta(hours=1)), "Can you pick me up after?"),
    ]
    made = upload(
        client,
        owner,
        _export(lines),
        name="WhatsApp Chat - Ellie B.zip",
        names={PUPIL: school["young"]},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["messages"], body["new_messages"]) == (2, 2)
    assert body["findings"] == {"logged": 1, "not_logged": 1}
    assert len(body["sha256"]) == 64

    seen = client.get(f"/contacts/{cid}/reconciliation", headers=owner).json()
    assert (seen["captured"], seen["covered"]) == (2, 1)
    [missing] = seen["not_logged"]
    assert missing["direction"] == "received"
    assert missing["content"] == "Can you pick me up after?"
    assert missing["pupil_ids"] == [school["young"]]
    assert missing["log_by"]
    # Her manager sees the gap, not the words; the DSL sees both.
    managed = client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("manager")).json()
    assert managed["not_logged"][0]["content"] is None
    dsl = client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("dsl")).json()
    assert dsl["not_logged"][0]["content"] == "Can you pick me up after?"
    assert client.get(
        f"/contacts/{cid}/reconciliation", headers=world.auth("other_staff")
    ).status_code in (403, 404)

    tapped = client.post(
        f"/captures/messages/{missing['id']}/log",
        json={
            "summary": "Ellie asked for a lift; said no, parents to collect",
            "device_tag": "PE-IPAD",
        },
        headers=owner,
    )
    assert tapped.status_code == 201, tapped.text
    logged = tapped.json()
    assert (logged["direction"], logged["occurred_at"][:16]) == (
        "received",
        missing["sent_at"][:16],
    )
    assert logged["verbatim"] == "Can you pick me up after?"
    assert logged["pupil_ids"] == [school["young"]]
    again = client.post(
        f"/captures/messages/{missing['id']}/log",
        json={"summary": "again", "device_tag": "PE-IPAD"},
        headers=owner,
    )
    assert again.status_code == 409
    after = client.get(f"/contacts/{cid}/reconciliation", headers=owner).json()
    assert after["not_logged"] == []
    assert after["covered"] == 2
    assert entry["id"] not in after["not_seen"]


def test_only_the_holder_may_log_a_captured_message(client, world, school):
    cid = approved_contact(client, world, school)
    lines = [Said(PUPIL, _wall(_hours_on(3) - timedelta(hours=1)), "hi")]
    upload(
        client, world.auth("owner"), _export(lines), name="a.zip", names={PUPIL: school["young"]}
    )
    [missing] = client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("dsl")).json()[
        "not_logged"
    ]
    for who in ("dsl", "manager", "other_staff"):
        refused = client.post(
            f"/captures/messages/{missing['id']}/log",
            json={"summary": "x", "device_tag": "PE-IPAD"},
            headers=world.auth(who),
        )
        assert refused.status_code in (403, 404), (who, refused.text)


def test_the_same_file_or_an_overlapping_export_stores_nothing_twice(client, world, school):
    owner = world.auth("owner")
    cid = approved_contact(client, world, school)
    start = _hours_on(4) - timedelta(hours=3)
    first_lines = [
        Said(PUPIL, _wall(start + timedelta(minutes=n)), f"message {n}") for n in range(3)
    ]
    first = _export(first_lines)
    assert (
        upload(client, owner, first, name="a.zip", names={PUPIL: school["young"]}).status_code
        == 201
    )
    repeated = upload(client, world.auth("dsl"), first, name="copy of a.zip")
    assert repeated.status_code == 200
    assert repeated.json()["repeated"] is True
    assert count_rows(client.app.state.db, "capture_upload") == 1
    # A later export of the same chat: the first three again, and two more.
    more = first_lines + [
        Said(PUPIL, _wall(start + timedelta(minutes=n)), f"message {n}") for n in (3, 4)
    ]
    later = upload(client, owner, _export(more), name="b.zip").json()
    assert (later["messages"], later["new_messages"]) == (5, 2)
    assert client.get(f"/contacts/{cid}/reconciliation", headers=owner).json()["captured"] == 5


def test_messages_before_approval_or_with_someone_unnamed_are_found(client, world, school):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    before = clock.now() - timedelta(hours=2)
    upload(
        client,
        owner,
        _export([Said(PUPIL, _wall(before), "are we training?")]),
        name="a.zip",
        names={PUPIL: school["young"]},
    )
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    stranger = [Said("Unknown number", _wall(_hours_on(1) - timedelta(minutes=5)), "who is this")]
    upload(client, owner, iphone_zip(iphone_chat(stranger, chat="Unknown number")), name="b.zip")
    seen = client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("dsl")).json()
    [breach] = seen["breaches"]
    assert "before_approval" in breach["flags"]
    [unknown] = seen["unknown_participants"]
    assert unknown["unknown"] == "Unknown number"
    # The holder is not shown who the unnamed person is: that is the DSL's to find out.
    mine = client.get(f"/contacts/{cid}/reconciliation", headers=owner).json()
    assert mine["unknown_participants"][0]["unknown"] is None
    # Its page does not say all is in the log when what is missing is a breach.
    as_person(client, client.app.state.db, world, "owner")
    page = client.get(f"/app/contacts/{cid}/captured").text
    assert "every captured message is in the log" not in page
    assert "captured outside it, below" in page


def test_an_export_that_cannot_be_read_stores_nothing_and_says_where(client, world, school):
    owner = world.auth("owner")
    approved_contact(client, world, school)
    text = android_chat([Said(SCHOOL_NAME, datetime(2026, 11, 2, 9, 0), "a")])
    text += "25/11/2026, 99:10 - Ellie B: b\n"
    refused = upload(client, owner, text.encode(), name="WhatsApp Chat with Ellie B.txt")
    assert refused.status_code == 422
    problem = refused.json()
    assert "WhatsApp Chat with Ellie B.txt, line 2" in problem["detail"]
    assert count_rows(client.app.state.db, "capture_upload") == 0
    assert count_rows(client.app.state.db, "captured_message") == 0
    unnamed = upload(
        client, owner, text.encode()[: text.index("25/11/2026, 99")], name="c.txt", school_name=""
    )
    assert unnamed.status_code == 422
    assert "school_name" in unnamed.json()["detail"]
    wrong = upload(client, owner, b"x", name="a.txt", source="meta_export")
    assert wrong.status_code == 422


def test_only_the_accounts_holder_or_the_dsl_may_upload(client, world, school):
    approved_contact(client, world, school)
    data = _export([Said(PUPIL, _wall(clock.now()), "hi")])
    for who in ("other_staff", "manager", "admin"):
        refused = upload(client, world.auth(who), data, name="a.zip")
        assert refused.status_code == 403, (who, refused.text)
    assert count_rows(client.app.state.db, "capture_upload") == 0
    assert upload(client, world.auth("dsl"), data, name="a.zip").status_code == 201


def test_every_upload_is_on_the_record_with_its_hash(client, world, school):
    import hashlib

    approved_contact(client, world, school)
    data = _export([Said(PUPIL, _wall(_hours_on(1)), "hi")])
    made = upload(client, world.auth("owner"), data, name="a.zip", names={PUPIL: school["young"]})
    assert made.json()["sha256"] == hashlib.sha256(data).hexdigest()
    events = client.get(
        "/audit/events?object_type=capture_upload", headers=world.auth("dsl")
    ).json()["items"]
    assert {e["action"] for e in events} == {"capture.uploaded", "capture.messages_stored"}
    listed = client.get("/captures", headers=world.auth("owner")).json()
    assert [u["id"] for u in listed] == [made.json()["id"]]
    assert client.get("/captures", headers=world.auth("other_staff")).json() == []


def test_a_message_still_unlogged_after_two_school_days_becomes_a_flagged_entry_and_an_alert(
    client, world, school, db, mail_settings, mail_server
):
    owner = world.auth("owner")
    cid = approved_contact(client, world, school)
    now = _hours_on(3)
    lines = [
        Said(PUPIL, _wall(now - timedelta(hours=1)), "Can you pick me up after?"),
        Said(SCHOOL_NAME, _wall(now - timedelta(minutes=30)), "Sorry, no"),
    ]
    upload(
        client,
        owner,
        _export(lines),
        name="WhatsApp Chat - Ellie B.zip",
        names={PUPIL: school["young"]},
    )
    # She logs the second one the ordinary way; the job sees it is covered.
    client.post(
        f"/contacts/{cid}/messages",
        json=message(occurred_at=(now - timedelta(minutes=28)).isoformat(), summary="Said no"),
        headers=owner,
    )
    assert run_job("captures", db, mail_settings, now) == 0
    [missing] = client.get(f"/contacts/{cid}/reconciliation", headers=owner).json()["not_logged"]
    log_by = datetime.fromisoformat(missing["log_by"])
    assert run_job("captures", db, mail_settings, log_by - timedelta(minutes=1)) == 0
    assert run_job("captures", db, mail_settings, log_by) == 1
    assert run_job("captures", db, mail_settings, log_by + timedelta(hours=1)) == 0  # once
    entries = client.get(f"/contacts/{cid}/messages", headers=world.auth("dsl")).json()["items"]
    [made] = [e for e in entries if "not_logged" in e["flags"]]
    assert made["direction"] == "received"
    assert made["pupil_ids"] == [school["young"]]
    assert made["needs_review"] is True
    assert made["verbatim"] is None  # the words stay the capture's, for the DSL
    run_job("alerts", db, mail_settings, log_by)
    run_job("outbox", db, mail_settings, log_by)
    told = [
        m
        for m in mail_server.inbox.to("dsl@a.example.org")
        if "not logged" in m.get_payload(decode=True).decode()
    ]
    assert len(told) == 1
    shown = client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("dsl")).json()
    assert shown["not_logged"][0]["flagged_message_id"] == made["id"]


def test_two_school_days_pass_over_a_weekend():
    from datetime import date

    from contacts.capture.reconcile import school_days_after

    assert school_days_after(date(2026, 12, 3), 2) == date(2026, 12, 7)  # Thursday → Monday
    assert school_days_after(date(2026, 12, 4), 2) == date(2026, 12, 8)  # Friday → Tuesday
    assert school_days_after(date(2026, 12, 5), 2) == date(2026, 12, 8)  # Saturday → Tuesday


def test_an_evidence_pack_carries_the_captured_messages_and_the_files_hashes(client, world, school):
    import io
    import zipfile

    from contacts.oversight.pack_check import verify_pack

    cid = approved_contact(client, world, school)
    now = _hours_on(2)
    data = _export([Said(PUPIL, _wall(now - timedelta(minutes=20)), "Can I bring my brother?")])
    made = upload(
        client,
        world.auth("owner"),
        data,
        name="WhatsApp Chat - Ellie B.zip",
        names={PUPIL: school["young"]},
    ).json()
    pack = client.get(f"/contacts/{cid}/evidence-pack", headers=world.auth("dsl"))
    assert pack.status_code == 200, pack.text
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        captured = json.loads(archive.read("records/captured_messages.json"))
        uploads = json.loads(archive.read("records/capture_uploads.json"))
        sealed = archive.read("records/sealed.jsonl").decode()
    assert [c["content"] for c in captured] == ["Can I bring my brother?"]
    assert [u["sha256"] for u in uploads] == [made["sha256"]]
    assert f'"record": "captured_message:{captured[0]["id"]}"' in sealed
    assert verify_pack(io.BytesIO(pack.content)) == []


def test_the_chronologies_show_what_the_log_lacks_until_it_is_logged(client, world, school):
    owner, dsl = world.auth("owner"), world.auth("dsl")
    cid = approved_contact(client, world, school)
    now = _hours_on(2)
    lines = [Said(PUPIL, _wall(now - timedelta(minutes=20)), "Can I bring my brother?")]
    upload(
        client,
        owner,
        _export(lines),
        name="WhatsApp Chat - Ellie B.zip",
        names={PUPIL: school["young"]},
    )
    for path in (
        f"/staff/{world.ids['owner']}/chronology",
        f"/pupils/{school['young']}/chronology",
    ):
        entries = client.get(path, headers=dsl).json()["items"]
        [gap] = [e for e in entries if e["object_type"] == "captured_message"]
        assert gap["type"] == "captured.not_logged"
        assert "not in the log" in gap["summary"]
        assert "brother" not in gap["summary"]  # the words stay with the capture
        assert gap["contact_id"] == cid
    other = client.get(f"/pupils/{school['older']}/chronology", headers=dsl).json()["items"]
    assert not [e for e in other if e["object_type"] == "captured_message"]
    [missing] = client.get(f"/contacts/{cid}/reconciliation", headers=owner).json()["not_logged"]
    client.post(
        f"/captures/messages/{missing['id']}/log",
        json={"summary": "Asked to bring her brother", "device_tag": "PE-IPAD"},
        headers=owner,
    )
    after = client.get(f"/staff/{world.ids['owner']}/chronology", headers=dsl).json()["items"]
    assert not [e for e in after if e["object_type"] == "captured_message"]
    assert any(e["summary"].startswith("Asked to bring her brother") for e in after)


def test_reading_what_was_captured_is_on_the_record_but_for_the_holders_own_reads(
    client, world, school
):
    cid = approved_contact(client, world, school)
    client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("owner"))
    client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("manager"))
    client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("dsl"))
    events = client.get("/audit/events?action=access.captured", headers=world.auth("dsl")).json()[
        "items"
    ]
    assert sorted((e["actor_id"], e["details"]["words"]) for e in events) == sorted(
        [(world.ids["manager"], False), (world.ids["dsl"], True)]
    )


def test_messages_on_an_account_no_contact_covers_are_the_dsls_to_see(client, world, school):
    """The insider who never asked: a school account with no contact at all. Only a DSL can
    upload its export, and only a DSL reads what it holds."""
    stray = "Year 9 chat (school phone)"
    lines = [Said(PUPIL, _wall(clock.now() - timedelta(minutes=3)), "see you at the park")]
    refused = upload(
        client, world.auth("owner"), _export(lines), name="a.zip", school_account=stray
    )
    assert refused.status_code == 403
    made = upload(client, world.auth("dsl"), _export(lines), name="a.zip", school_account=stray)
    assert made.json()["findings"] == {"outside_contact": 1}
    [found] = client.get("/captures/unplaced", headers=world.auth("dsl")).json()
    assert (found["content"], found["flags"]) == ("see you at the park", ["no_approved_contact"])
    assert client.get("/captures/unplaced", headers=world.auth("owner")).status_code == 403


def test_the_upload_page_shows_where_an_export_cannot_be_read_and_stores_nothing(
    client, world, school
):
    from tests.support.pages import form_token, sign_in

    approved_contact(client, world, school)
    sign_in(client, "owner@a.example.org")
    token = form_token(client.get("/app/captures").text)
    text = android_chat([Said(SCHOOL_NAME, datetime(2026, 11, 2, 9, 0), "a")])
    text += "25/11/2026, 99:10 - Ellie B: b\n"
    shown = client.post(
        "/app/captures",
        data={
            "form_token": token,
            "account": f"whatsapp|{ACCOUNT}",
            "source": "whatsapp_export",
            "school_name": SCHOOL_NAME,
            "date_order": "dmy",
        },
        files={"export": ("WhatsApp Chat with Ellie B.txt", text.encode())},
    )
    assert shown.status_code == 422
    assert "WhatsApp Chat with Ellie B.txt, line 2" in shown.text
    assert count_rows(client.app.state.db, "capture_upload") == 0
    empty = client.post(
        "/app/captures", data={"form_token": token, "account": f"whatsapp|{ACCOUNT}"}
    )
    assert empty.status_code == 422
    assert "Choose the export" in empty.text


def test_a_colleagues_gaps_per_contact_for_the_dsl_and_their_manager(client, world, school):
    owner = world.auth("owner")
    cid = approved_contact(client, world, school)
    now = _hours_on(2)
    lines = [
        Said(PUPIL, _wall(now - timedelta(minutes=40)), "one"),
        Said(PUPIL, _wall(now - timedelta(minutes=20)), "two"),
    ]
    upload(
        client,
        owner,
        _export(lines),
        name="WhatsApp Chat - Ellie B.zip",
        names={PUPIL: school["young"]},
    )
    path = f"/staff/{world.ids['owner']}/reconciliation"
    [row] = client.get(path, headers=world.auth("dsl")).json()
    assert (row["contact_id"], row["captured"], row["not_logged"], row["covered"]) == (cid, 2, 2, 0)
    assert client.get(path, headers=world.auth("manager")).status_code == 200
    for who in ("owner", "other_staff", "other_manager"):
        assert client.get(path, headers=world.auth(who)).status_code in (403, 404), who


def test_the_holder_cannot_rename_who_is_who_to_hide_a_breach(client, world, school, db):
    """Before: a teacher re-uploading could say the unknown adult was a pupil on the contact, or
    that the pupil was the school, and the next upload's breaches vanished."""
    owner = world.auth("owner")
    approved_contact(client, world, school)
    now = _hours_on(1)
    first = [Said(PUPIL, _wall(now - timedelta(minutes=9)), "hi")]
    upload(client, owner, _export(first), name="a.zip", names={PUPIL: school["young"]})
    renamed = upload(
        client,
        owner,
        _export([Said(PUPIL, _wall(now - timedelta(minutes=8)), "x")]),
        name="b.zip",
        names={PUPIL: school["older"]},
    )
    assert renamed.status_code == 422
    assert "only the DSL" in renamed.json()["detail"]
    as_school = upload(
        client,
        owner,
        _export([Said(PUPIL, _wall(now - timedelta(minutes=7)), "y")]),
        name="c.zip",
        school_name=PUPIL,
    )
    assert as_school.status_code == 422
    other = client.post(
        "/pupils",
        json={
            "given_name": "Zed",
            "family_name": "Q",
            "date_of_birth": "2011-02-03",
            "school_reference": "Q9",
        },
        headers=world.auth("admin"),
    ).json()["id"]
    stranger = upload(
        client,
        owner,
        _export([Said("Adult", _wall(now - timedelta(minutes=6)), "z")]),
        name="d.zip",
        names={"Adult": other},
    )
    assert stranger.status_code == 422  # not a pupil on their contact
    assert count_rows(db, "capture_upload") == 1
    fixed = upload(
        client,
        world.auth("dsl"),
        _export([Said(PUPIL, _wall(now - timedelta(minutes=5)), "w")]),
        name="e.zip",
        names={PUPIL: school["older"]},
    )
    assert fixed.status_code == 201, fixed.text  # the DSL may correct it
