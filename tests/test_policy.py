"""The trust's policy: read by everyone in the trust, set only by its trust admin within the
protocol's bounds, on the record, and obeyed by every rule at once (the API, the dashboard and
the jobs read the same numbers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from scheduler.runner import run_job
from tests.support.builders import log, request_body
from tests.support.ground import assert_problem


def policy_of(client, world, who="trust_admin"):  # type: ignore[no-untyped-def]
    return client.get(f"/trusts/{world.trust}/policy", headers=world.auth(who))


def change(client, world, who="trust_admin", **fields):  # type: ignore[no-untyped-def]
    return client.patch(f"/trusts/{world.trust}/policy", json=fields, headers=world.auth(who))


def test_everyone_in_the_trust_reads_the_deployments_defaults(client, world, settings):
    for who in ("owner", "dsl", "other_school", "trust_admin"):
        body = policy_of(client, world, who).json()
        assert body["consent_age"] == settings.consent_age == 16
        assert body["escalate_after_days"] == settings.escalate_after_days
        assert body["review_sample_rate"] == 0  # as the suite's settings say
        assert "our secret" in body["review_lexicon"]
        assert body["trust_own"] == {}
    assert_problem(client.get(f"/trusts/{world.trust}/policy"), 401)
    assert_problem(
        client.get(f"/trusts/{world.trust + 1}/policy", headers=world.auth("owner")), 404
    )


def test_a_trust_admin_sets_it_and_the_change_is_on_the_record(client, world, db):
    changed = change(client, world, escalate_after_days=3, extra_lexicon=["  Snapchat Streak "])
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["escalate_after_days"] == 3
    assert body["trust_own"] == {"escalate_after_days": 3, "extra_lexicon": ["snapchat streak"]}
    assert "snapchat streak" in body["review_lexicon"]
    assert "our secret" in body["review_lexicon"]
    assert policy_of(client, world, "owner").json()["escalate_after_days"] == 3
    events = client.get("/audit/events", headers=world.auth("dsl")).json()["items"]
    [event] = [e for e in events if e["action"] == "policy.changed"]
    assert event["actor_id"] == world.ids["trust_admin"]
    assert event["details"]["changed"]["escalate_after_days"] == [None, 3]
    # null goes back to the deployment's default
    back = change(client, world, escalate_after_days=None).json()
    assert back["escalate_after_days"] == 7
    assert "escalate_after_days" not in back["trust_own"]


@pytest.mark.parametrize("who", ["owner", "dsl", "admin", "manager", "other_school"])
def test_nobody_else_sets_it(client, world, who):
    assert_problem(change(client, world, who, consent_age=18), 403, detail_contains="trust_admin")
    assert policy_of(client, world).json()["trust_own"] == {}


@pytest.mark.parametrize(
    "fields",
    [
        {"consent_age": 15},  # looser than the protocol's 16
        {"review_sample_rate": 0},  # a log must never look clean by being unread
        {"escalate_after_days": 0},
        {"escalate_after_days": 365},
        {"reminder_every_days": 0},
        {"extra_lexicon": ["x"]},
        {"sample_rate": 0.5},  # not a field of the policy
    ],
)
def test_a_looser_or_unknown_setting_is_refused_and_nothing_changes(client, world, fields):
    body = assert_problem(change(client, world, **fields), 422)
    assert body["errors"], body
    assert policy_of(client, world).json()["trust_own"] == {}


def test_a_higher_consent_age_applies_to_a_17_year_old_at_once(client, world, school):
    owner, manager = world.auth("owner"), world.auth("manager")
    body = request_body(school, pupil_ids=[school["older"]])
    cid = client.post("/contacts", json=body, headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=manager)
    [pupil] = client.get(f"/contacts/{cid}", headers=owner).json()["pupils"]
    assert pupil["state"] == "active"
    assert pupil["needs_consent"] is False
    assert change(client, world, consent_age=18).status_code == 200
    shown = client.get(f"/contacts/{cid}", headers=owner).json()
    assert shown["active"] is False
    [pupil] = shown["pupils"]
    assert pupil["state"] == "awaiting_consent"
    assert pupil["needs_consent"] is True
    [figures] = client.get("/summary", headers=world.auth("dsl")).json()["schools"]
    assert figures["active_contacts"] == 0
    assert figures["pupils_without_valid_consent"] == 1
    logged = client.post(
        f"/contacts/{cid}/messages",
        json={
            "direction": "sent",
            "occurred_at": clock.now().isoformat(),
            "device_tag": "PE-IPAD",
            "summary": "Kick-off at ten",
        },
        headers=owner,
    ).json()
    assert "no_valid_consent" in logged["flags"]


def test_the_dashboard_counts_overdue_deletions_by_the_trusts_own_escalation(
    client, world, school, db, settings
):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    client.post(f"/contacts/{cid}/end", json={"reason": "Season over"}, headers=owner)
    change(client, world, escalate_after_days=2)
    clock.set_clock(lambda: datetime.now(UTC) + timedelta(days=3))
    [figures] = client.get("/summary", headers=world.auth("dsl")).json()["schools"]
    assert figures["open_deletions"] == 2
    assert figures["overdue_deletions"] == 2
    # ... and the escalation job, as of the same instant, agrees.
    escalated = run_job("deletion_reminders", db, settings, clock.now())
    assert escalated >= 1
    tasks = client.get("/deletion-tasks", headers=owner).json()["items"]
    assert all(t["escalated_at"] for t in tasks)


def test_words_the_trust_adds_flag_a_message_for_review(client, world, school, contact):
    clean = log(client, world, contact, summary="Check the team streak tonight")
    assert "lexicon" not in clean["flags"]
    change(client, world, extra_lexicon=["team streak"])
    flagged = log(client, world, contact, summary="Check the team streak tonight, again")
    assert "lexicon" in flagged["flags"]
    assert flagged["needs_review"] is True


def test_past_its_end_date_a_pupil_is_not_active_anywhere(client, world, school):
    owner = world.auth("owner")
    ends = (clock.now() + timedelta(days=2)).date().isoformat()
    body = request_body(school, pupil_ids=[school["older"]], ends_on=ends)
    cid = client.post("/contacts", json=body, headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    clock.set_clock(lambda: datetime.now(UTC) + timedelta(days=5))
    shown = client.get(f"/contacts/{cid}", headers=owner).json()
    assert shown["state"] == "approved"
    assert shown["active"] is False
    assert shown["pupils"][0]["state"] == "past_end_date"
    [figures] = client.get("/summary", headers=world.auth("dsl")).json()["schools"]
    assert figures["active_contacts"] == 0


def test_a_process_reads_a_change_made_elsewhere_once_its_copy_is_old(db, world, settings):
    """Each process keeps a trust's policy for POLICY_CACHE_SECONDS; a change made through
    another process applies there when its copy is forgotten or too old, never half-way."""
    from core.directory.models import Trust
    from core.policy import PolicyBook

    book = PolicyBook(settings, keep_seconds=3600)
    with db.session() as session:
        assert book.policy(session, world.trust).consent_age == 16
    with db.transaction() as session:  # another process's change
        trust = session.get(Trust, world.trust)
        assert trust is not None
        trust.consent_age = 18
        session.add(trust)
    with db.session() as session:
        assert book.policy(session, world.trust).consent_age == 16  # its copy still holds
        assert PolicyBook(settings, keep_seconds=0).policy(session, world.trust).consent_age == 18
    with db.transaction() as session:
        book.forget_once_committed(session, world.trust)
        assert book.policy(session, world.trust).consent_age == 16  # not before the commit...
    with db.session() as session:
        assert book.policy(session, world.trust).consent_age == 18  # ...and at once after it
