"""The DSL's review: searching and exporting the log, the queue, chronologies, the summary."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.flags import in_words
from core import clock
from tests.support.builders import INCIDENT, log, request_body, today
from tests.support.ground import assert_problem


def consent_for_young(client, world, school, cid):  # type: ignore[no-untyped-def]
    return client.post(
        f"/pupils/{school['young']}/consents",
        json={
            "contact_id": cid,
            "guardian_id": school["guardian"],
            "method": "email",
            "evidence_reference": "e1",
            "given_on": today().isoformat(),
        },
        headers=world.auth("admin"),
    ).json()


# ---------------------------------------------------------------- searching the log


def test_search_filters_and_scopes(client, world, school, contact):
    log(client, world, contact, summary="plain one")
    flagged = log(client, world, contact, device_tag="MY-PHONE", summary="from my phone")
    older_only = log(client, world, contact, pupil_ids=[school["older"]], summary="to Noah only")
    dsl = world.auth("dsl")

    def ids(**params):  # type: ignore[no-untyped-def]
        response = client.get("/messages", params=params, headers=dsl)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    everything = ids()
    assert everything == sorted(everything, reverse=True)
    assert len(everything) == 3
    assert ids(flag="unregistered_device") == [flagged["id"]]
    assert set(ids(pupil_id=school["young"])) == set(everything) - {older_only["id"]}
    assert ids(platform="instagram") == []
    assert len(ids(platform="whatsapp")) == 3
    assert ids(staff_id=world.ids["other_staff"]) == []
    assert len(ids(reviewed=False)) == 3
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert ids(to=soon) == everything
    assert ids(**{"from": soon}) == []
    # Scope: the owner and their manager see these; another member of staff does not.
    assert len(client.get("/messages", headers=world.auth("owner")).json()["items"]) == 3
    assert len(client.get("/messages", headers=world.auth("manager")).json()["items"]) == 3
    assert client.get("/messages", headers=world.auth("other_staff")).json()["items"] == []
    assert client.get("/messages", headers=world.auth("other_manager")).json()["items"] == []
    assert client.get("/messages", headers=world.auth("other_school")).json()["items"] == []
    assert_problem(
        client.get(f"/messages?school_id={world.school_a}", headers=world.auth("other_school")), 404
    )
    assert_problem(client.get("/messages?flag=nonsense", headers=dsl), 422)


def test_search_pages_are_stable_as_entries_arrive(client, world, contact):
    for i in range(5):
        log(client, world, contact, summary=f"entry {i}")
    first = client.get("/messages?limit=2", headers=world.auth("dsl")).json()
    log(client, world, contact, summary="arrives meanwhile")
    second = client.get(
        f"/messages?limit=2&cursor={first['next_cursor']}", headers=world.auth("dsl")
    ).json()
    third = client.get(
        f"/messages?limit=2&cursor={second['next_cursor']}", headers=world.auth("dsl")
    ).json()
    summaries = [m["summary"] for page in (first, second, third) for m in page["items"]]
    assert summaries == [f"entry {i}" for i in (4, 3, 2, 1, 0)]
    assert third["next_cursor"] is None


def test_csv_export_matches_the_search_and_is_safe_in_a_spreadsheet(client, world, contact, db):
    tricky = [
        'Said "see you at 10", then left',
        "Kit list: boots, pads, water\nand a coat",
        '=HYPERLINK("http://evil.example")',
        "+44 calls",
        "-5 degrees forecast",
        "@everyone match on",
    ]
    for text in tricky:
        log(client, world, contact, summary=text)
    json_ids = [
        m["id"]
        for m in client.get("/messages?limit=200", headers=world.auth("dsl")).json()["items"]
    ]
    response = client.get("/messages", headers={**world.auth("dsl"), "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == json_ids
    summaries = [r["summary"] for r in rows]
    assert 'Said "see you at 10", then left' in summaries
    assert "Kit list: boots, pads, water\nand a coat" in summaries
    assert '\'=HYPERLINK("http://evil.example")' in summaries
    assert "'+44 calls" in summaries
    assert "'-5 degrees forecast" in summaries
    assert "'@everyone match on" in summaries
    assert not any(s[:1] in "=+-@" for s in summaries)
    exports = client.get("/audit/events?action=access.export", headers=world.auth("dsl")).json()
    assert len(exports["items"]) == 1
    assert exports["items"][0]["actor_id"] == world.ids["dsl"]


def test_the_export_names_people_and_says_how_each_entry_was_reviewed(
    client, world, school, contact
):
    """The CSV had `staff_id` and `pupil_ids (1;2;3)`: a reader had to look every id up."""
    logged = log(client, world, contact, device_tag="MY-PHONE", pupil_ids=[school["young"]])
    client.post(
        f"/messages/{logged['id']}/reviews",
        json={"note": "Spoke to them."},
        headers=world.auth("dsl"),
    )
    response = client.get("/messages", headers={**world.auth("dsl"), "Accept": "text/csv"})
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["school"] == "A"
    assert row["staff"] == "Owner"
    assert row["staff_id"] == str(world.ids["owner"])
    assert row["platform"] == "WhatsApp"
    assert row["pupils"] == "Ava T"
    assert row["reviewed_by"] == "Dsl"
    assert row["review_note"] == "Spoke to them."


def test_export_of_many_rows_streams_in_batches(client, world, contact, db, monkeypatch):
    from contacts.oversight.review import export

    monkeypatch.setattr(export, "EXPORT_BATCH", 7)
    for i in range(23):
        log(client, world, contact, summary=f"n{i}")
    response = client.get("/messages", headers={**world.auth("dsl"), "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["summary"] for r in rows] == [f"n{i}" for i in range(22, -1, -1)]


# ---------------------------------------------------------------- the review queue


def test_the_queue_holds_flagged_and_lexicon_entries_oldest_first(client, world, school, contact):
    consent_for_young(client, world, school, contact)
    log(client, world, contact, summary="Training moved to 4pm")  # clean: stays out
    flagged = log(client, world, contact, device_tag="MY-PHONE")
    worded = log(client, world, contact, summary="Told him to keep this between us")
    phoned = log(client, world, contact, summary="Gave my number 07700 900123 for lifts")
    assert worded["flags"] == ["lexicon"]
    assert phoned["flags"] == ["lexicon"]
    queue = client.get("/review-queue", headers=world.auth("dsl")).json()["items"]
    assert [e["message"]["id"] for e in queue] == [flagged["id"], worded["id"], phoned["id"]]
    assert all(e["waiting_seconds"] >= 0 and e["sampled"] is False for e in queue)
    # Reviewed entries leave; the note is kept and the change is on the record.
    reviewed = client.post(
        f"/messages/{flagged['id']}/reviews",
        json={"note": "Spoke to SO."},
        headers=world.auth("dsl"),
    )
    assert reviewed.status_code == 201, reviewed.text
    queue = client.get("/review-queue", headers=world.auth("dsl")).json()["items"]
    assert [e["message"]["id"] for e in queue] == [worded["id"], phoned["id"]]
    assert (
        client.get("/messages?reviewed=true", headers=world.auth("dsl")).json()["items"][0]["id"]
        == flagged["id"]
    )


def test_waiting_time_follows_the_clock(client, world, contact):
    flagged = log(client, world, contact, device_tag="MY-PHONE")
    later = clock.now() + timedelta(days=3)
    clock.set_clock(lambda: later)
    [entry] = client.get("/review-queue", headers=world.auth("dsl")).json()["items"]
    assert entry["message"]["id"] == flagged["id"]
    assert 3 * 86400 - 60 <= entry["waiting_seconds"] <= 3 * 86400 + 60


def test_a_share_of_clean_entries_is_sampled(client, world, school, contact):
    consent_for_young(client, world, school, contact)
    before = log(client, world, contact, summary="Bus leaves at 9")
    assert before["flags"] == []
    assert before["needs_review"] is False
    changed = client.patch(
        f"/trusts/{world.trust}/policy",
        json={"review_sample_rate": 1},
        headers=world.auth("trust_admin"),
    )
    assert changed.status_code == 200, changed.text
    clean = log(client, world, contact, summary="Bus leaves at 9:15")
    assert clean["flags"] == []
    assert clean["needs_review"] is True
    [entry] = client.get("/review-queue", headers=world.auth("dsl")).json()["items"]
    assert entry["sampled"] is True


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("dsl", 201),
        ("trust_dsl", 201),
        ("owner", 403),
        ("manager", 403),
        ("admin", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_review(client, world, contact, who, status):
    flagged = log(client, world, contact, device_tag="MY-PHONE")
    response = client.post(
        f"/messages/{flagged['id']}/reviews", json={"note": "ok"}, headers=world.auth(who)
    )
    assert response.status_code == status
    queue = client.get("/review-queue", headers=world.auth(who))
    # Every DSL has a queue of their own school's entries; nobody else has one.
    assert queue.status_code == {201: 200, 404: 200}.get(status, status)
    if who == "other_school":
        assert queue.json()["items"] == []


# ---------------------------------------------------------------- chronologies and the summary


def test_a_pupils_chronology_tells_the_whole_story_in_order(client, world, school, contact, db):
    dsl = world.auth("dsl")
    consent = consent_for_young(client, world, school, contact)
    log(client, world, contact, summary="Match report")
    client.post(
        "/incidents",
        json={
            **INCIDENT,
            "occurred_at": datetime.now(UTC).isoformat(),
            "pupils": [{"pupil_id": school["young"], "part": "initiated"}],
        },
        headers=world.auth("owner"),
    )
    client.post(
        f"/consents/{consent['id']}/withdrawal", json={"reason": "Parent asked"}, headers=dsl
    )
    client.post(
        f"/contacts/{contact}/deletion",
        json={"how": "Removed from group"},
        headers=world.auth("owner"),
    )
    # Another school's pupil with the same story leaves no trace here.
    items = client.get(f"/pupils/{school['young']}/chronology", headers=dsl).json()["items"]
    types = [e["type"] for e in items]
    assert types == [  # newest first
        "deletion.confirmed",
        "contact.ended",
        "consent.withdrawn",
        "incident.reported",
        "message.sent",
        "consent.recorded",
        "contact.approved",
        "contact.requested",
    ]
    assert [e["at"] for e in items] == sorted((e["at"] for e in items), reverse=True)
    assert items[4]["link"].startswith(f"/contacts/{contact}/messages/")
    # People by name, dates as dates: it read "Staff #3 asked", "by guardian #7", "2026-11-30".
    said = {e["type"]: e["summary"] for e in items}
    assert said["contact.requested"] == "Owner asked for WhatsApp contact"
    assert said["contact.approved"] == "Approved by Manager"
    assert said["contact.ended"].startswith("Ended for Ava T: ")
    assert re.fullmatch(
        r"Consent given on \d{1,2} [A-Z][a-z]+ \d{4} by Claire T", said["consent.recorded"]
    )
    assert not any("#" in e["summary"] for e in items)
    accesses = client.get("/audit/events?action=access.pupil_chronology", headers=dsl).json()
    assert accesses["items"][0]["actor_id"] == world.ids["dsl"]
    paged = client.get(f"/pupils/{school['young']}/chronology?limit=3", headers=dsl).json()
    rest = client.get(
        f"/pupils/{school['young']}/chronology?cursor={paged['next_cursor']}", headers=dsl
    ).json()
    assert [e["type"] for e in paged["items"] + rest["items"]] == types


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("dsl", 200),
        ("trust_dsl", 200),
        ("admin", 403),
        ("owner", 403),
        ("manager", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_read_a_pupils_chronology(client, world, school, who, status):
    assert (
        client.get(f"/pupils/{school['young']}/chronology", headers=world.auth(who)).status_code
        == status
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minutes_ago=st.lists(st.integers(min_value=0, max_value=60 * 24 * 40), max_size=6))
def test_a_pupils_chronology_pages_through_entries_logged_out_of_order(
    client, world, school, contact, minutes_ago
):
    """Entries logged in any order, some backdated before the contact began, some at the same
    minute: paged two at a time, every entry comes once, newest first, at its own time."""
    now = clock.now().replace(second=0, microsecond=0)
    logged = {}
    for minutes in minutes_ago:
        at = now - timedelta(minutes=minutes)
        entry = log(client, world, contact, occurred_at=at.isoformat(), pupil_ids=[school["young"]])
        logged[entry["id"]] = at
    seen, cursor = [], None
    while True:
        paging = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(
            f"/pupils/{school['young']}/chronology", params=paging, headers=world.auth("dsl")
        ).json()
        seen += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    keys = [(datetime.fromisoformat(e["at"]), e["type"], e["object_id"]) for e in seen]
    assert keys == sorted(keys, reverse=True)
    messages = {
        e["object_id"]: datetime.fromisoformat(e["at"])
        for e in seen
        if e["type"].startswith("message.")
    }
    assert len(messages) == sum(1 for e in seen if e["type"].startswith("message."))
    assert all(messages[i] == at for i, at in logged.items())


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("dsl", 200),
        ("manager", 200),
        ("head", 200),
        ("owner", 403),
        ("other_manager", 403),
        ("other_school", 404),
        (None, 401),
    ],
)
def test_who_may_read_a_staff_chronology(client, world, contact, who, status):
    response = client.get(f"/staff/{world.ids['owner']}/chronology", headers=world.auth(who))
    assert response.status_code == status
    if status == 200:
        assert [e["type"] for e in response.json()["items"]][-2:] == [  # newest first
            "contact.approved",
            "contact.requested",
        ]


def test_the_summary_counts_what_needs_attention(client, world, school, contact, db):
    log(client, world, contact, device_tag="MY-PHONE", pupil_ids=[school["older"]])
    client.post(
        "/incidents", json={**INCIDENT, "other_person": "A parent"}, headers=world.auth("owner")
    )
    client.post("/contacts", json=request_body(school), headers=world.auth("other_staff"))
    [figures] = client.get("/summary", headers=world.auth("dsl")).json()["schools"]
    assert figures["active_contacts"] == 1
    assert figures["awaiting_decision"] == 1
    assert figures["pupils_without_valid_consent"] == 1  # the 14-year-old
    assert figures["open_incidents"] == 1
    assert figures["awaiting_review"] == 1
    assert figures["oldest_awaiting_review_at"]
    assert figures["unreviewed_flagged"] == 1
    assert figures["open_deletions"] == 0
    # A manager sees the figures of their own reports only.
    [mine] = client.get("/summary", headers=world.auth("other_manager")).json()["schools"]
    assert mine["active_contacts"] == 0
    assert mine["awaiting_decision"] == 1
    trust = client.get("/summary", headers=world.auth("trust_dsl")).json()
    assert len(trust["schools"]) == 2
    assert trust["trust"]["active_contacts"] == 1
    assert_problem(client.get("/summary", headers=world.auth("owner")), 403)
    assert_problem(client.get("/summary"), 401)


def test_the_summary_tells_flagged_entries_from_sampled_ones(client, world, school, contact, db):
    from sqlalchemy import text

    clean = log(client, world, contact)
    log(client, world, contact, device_tag="MY-PHONE")
    with db.engine.begin() as conn:  # the clean one drawn for the sample, as the log write does
        conn.execute(
            text("UPDATE message SET sampled = :t, needs_review = :t WHERE id = :id"),
            {"t": True, "id": clean["id"]},
        )
    [figures] = client.get("/summary", headers=world.auth("dsl")).json()["schools"]
    assert (figures["awaiting_review"], figures["unreviewed_flagged"]) == (2, 1)


def test_chronology_pages_one_by_one_skip_and_repeat_nothing(client, world, school, contact, db):
    """Entries that share a moment (two pupils' parts ending at once) each get their page."""
    dsl = world.auth("dsl")
    for n in range(3):
        log(client, world, contact, summary=f"Entry {n}")
    client.post(f"/contacts/{contact}/end", json={"reason": "Over"}, headers=world.auth("owner"))
    staff = f"/staff/{world.ids['owner']}/chronology"
    whole = client.get(f"{staff}?limit=200", headers=dsl).json()
    assert whole["next_cursor"] is None
    assert [e["type"] for e in whole["items"]].count("contact.ended") == 2
    seen, cursor = [], None
    while True:
        page = client.get(
            staff, params={"limit": 1, **({"cursor": cursor} if cursor else {})}, headers=dsl
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole["items"]
    assert [e["at"] for e in seen] == sorted((e["at"] for e in seen), reverse=True)


def test_flags_in_words_say_advice_apart_from_rules_broken():
    assert (
        in_words(["no_valid_consent", "parent_not_informed", "unregistered_device"])
        == "flagged: no valid consent, unregistered device; advice: parent not informed"
    )
    assert in_words(["parent_not_informed"]) == "advice: parent not informed"
