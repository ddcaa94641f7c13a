"""The change record's hourly check: filed, emailed to every DSL once when something was altered,
and shown on the dashboard without the dashboard making a check of its own; and the dashboard's
weekly chart of flagged entries."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pyotp
from sqlalchemy import text
from sqlmodel import select

from core import clock
from core.clock import school_date
from core.verification import ChainCheck
from scheduler.runner import run_job
from tests.builders import enrol, message, request_body
from tests.conftest import count_rows
from tests.mail import DSL
from tests.test_web_sessions import form_token, sign_in

ALTERED = "The change record does NOT verify"


def _approved(client, world, school) -> int:  # type: ignore[no-untyped-def]
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    return int(cid)


def _rewrite_first_message(db, cid: int) -> None:  # type: ignore[no-untyped-def]
    """An insider with database access rewrites what a log entry says."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE message SET summary = 'Nothing to see here' WHERE id = "
                "(SELECT min(id) FROM message WHERE contact_id = :cid)"
            ),
            {"cid": cid},
        )


def _checks(db) -> list[ChainCheck]:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return list(session.exec(select(ChainCheck).order_by("id")).all())


def test_an_altered_record_is_found_by_the_hourly_check_and_every_dsl_told_once(
    client, world, school, db, mail_settings, mail_server
):
    cid = _approved(client, world, school)
    client.post(f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner"))
    assert run_job("chain_check", db, mail_settings) == 0
    run_job("outbox", db, mail_settings)
    assert not [s for s in mail_server.inbox.subjects(DSL) if ALTERED in s]
    [clean] = _checks(db)
    assert clean.ok and clean.altered == 0 and clean.records_checked > 0

    _rewrite_first_message(db, cid)
    assert run_job("chain_check", db, mail_settings) == 1
    assert run_job("chain_check", db, mail_settings) == 1  # still altered: filed again
    run_job("outbox", db, mail_settings)
    [told] = [m for m in mail_server.inbox.to(DSL) if ALTERED in str(m["Subject"])]
    body = told.get_payload(decode=True).decode()
    assert "1 record(s) differ" in body and "Nothing to see here" not in body
    assert [c.ok for c in _checks(db)] == [True, False, False]
    # The trust's DSL hears too: an altered record may be the school DSL's own doing.
    assert [
        m for m in mail_server.inbox.to("trust_dsl@a.example.org") if ALTERED in str(m["Subject"])
    ]


def test_the_dashboard_shows_the_last_check_and_a_dsl_can_ask_for_one(client, world, school, db):
    cid = _approved(client, world, school)
    client.post(f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner"))
    sign_in(client, "dsl@a.example.org", code=pyotp.TOTP(enrol(db, world.ids["dsl"])).now())
    page = client.get("/app/dashboard")
    assert "has not been checked yet" in page.text
    _rewrite_first_message(db, cid)
    # Viewing the dashboard makes no check: that would read the whole log on every visit.
    assert "has not been checked yet" in client.get("/app/dashboard").text
    assert count_rows(db, "chain_check") == 0

    asked = client.post(
        "/app/dashboard/check", data={"form_token": form_token(page.text)}, follow_redirects=False
    )
    assert asked.status_code == 303 and asked.headers["location"] == "/app/dashboard"
    shown = client.get("/app/dashboard").text
    assert "does NOT verify" in shown and "1 records differ" in shown
    assert count_rows(db, "chain_check") == 1


def test_only_a_dsl_may_ask_for_a_check(client, world, school, db):
    sign_in(client, "owner@a.example.org")
    home = client.get("/")
    refused = client.post("/app/dashboard/check", data={"form_token": form_token(home.text)})
    assert refused.status_code == 403
    assert count_rows(db, "chain_check") == 0


def test_the_chart_counts_flagged_entries_in_the_school_week_they_happened(
    client, world, school, db
):
    cid = _approved(client, world, school)
    owner = world.auth("owner")
    now = clock.now()
    zone = ZoneInfo("Europe/London")
    flagged_at = [now - timedelta(days=21), now - timedelta(days=14), now]
    for at in flagged_at[:2]:  # before the contact started: flagged before_approval
        logged = client.post(
            f"/contacts/{cid}/messages", json=message(occurred_at=at.isoformat()), headers=owner
        ).json()
        assert "before_approval" in logged["flags"]
    client.post(  # from a device nobody registered: flagged
        f"/contacts/{cid}/messages", json=message(device_tag="HOME-PHONE"), headers=owner
    )
    sign_in(client, "dsl@a.example.org", code=pyotp.TOTP(enrol(db, world.ids["dsl"])).now())
    page = client.get("/app/dashboard").text
    rows = re.findall(r"<tr><td>([^<]+)</td><td>[^<]+</td><td>(\d+)</td></tr>", page)
    expected: dict[str, int] = {}
    for at in flagged_at:
        day = school_date(at, zone)
        monday = (day - timedelta(days=day.weekday())).strftime("%d %b %Y")
        expected[monday] = expected.get(monday, 0) + 1
    assert dict((week, int(n)) for week, n in rows) == expected


def test_a_deployment_sets_how_often_the_record_is_checked(db, settings):
    from apscheduler.schedulers.background import BackgroundScheduler

    from scheduler.runner import configure

    slower = settings.model_copy(update={"chain_check_hours": 6})
    scheduler = configure(BackgroundScheduler(timezone="UTC"), db, slower)
    assert scheduler.get_job("chain_check").trigger.interval == timedelta(hours=6)
    assert scheduler.get_job("checkpoint").trigger.interval == timedelta(days=1)
