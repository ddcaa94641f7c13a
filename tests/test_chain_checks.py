"""The change record's hourly check: filed, emailed to every DSL once when something was altered,
and shown on the dashboard without the dashboard making a check of its own; and the dashboard's
weekly chart of flagged entries."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyotp
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from contacts.models import ADVISORY_FLAGS, Message
from contacts.oversight.summary import flagged_per_week
from core import clock
from core.clock import school_date
from core.directory.models import Role
from core.policy import policy_for
from core.principal import Principal
from core.record.models import ChainCheck
from scheduler.runner import run_job
from tests.support.builders import enrol, message, request_body
from tests.support.ground import count_rows
from tests.support.mail import DSL
from tests.support.pages import form_token, sign_in

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
    assert clean.ok
    assert clean.altered == 0
    assert clean.records_checked > 0

    _rewrite_first_message(db, cid)
    hour = clock.now() + timedelta(hours=1, seconds=1)
    assert run_job("chain_check", db, mail_settings, hour) == 1
    assert run_job("chain_check", db, mail_settings, hour) == 0  # not due again for an hour
    assert run_job("chain_check", db, mail_settings, hour + timedelta(hours=1)) == 1  # filed again
    run_job("outbox", db, mail_settings, hour + timedelta(hours=2))
    [told] = [m for m in mail_server.inbox.to(DSL) if ALTERED in str(m["Subject"])]
    body = told.get_payload(decode=True).decode()
    assert "1 record(s) differ" in body
    assert "Nothing to see here" not in body
    assert [c.ok for c in _checks(db)] == [True, False, False]
    # The trust's DSL hears too: an altered record may be the school DSL's own doing.
    assert [
        m for m in mail_server.inbox.to("trust_dsl@a.example.org") if ALTERED in str(m["Subject"])
    ]


def test_the_dashboard_shows_the_last_check_and_a_dsl_can_ask_for_one(
    client, world, school, db, settings
):
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
    assert asked.status_code == 303
    assert asked.headers["location"] == "/app/dashboard?checking=asked"
    assert "on its way" in client.get("/app/dashboard").text
    run_job("chain_check", db, settings)  # the scheduler takes it up within seconds
    shown = client.get("/app/dashboard").text
    assert "does NOT verify" in shown
    assert "1 record differs" in shown
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
        monday_of = day - timedelta(days=day.weekday())
        monday = f"{monday_of.day} {monday_of:%B %Y}"  # a UK date, as the page writes it
        expected[monday] = expected.get(monday, 0) + 1
    assert dict((week, int(n)) for week, n in rows) == expected


def test_a_deployment_sets_how_often_the_record_is_checked(db, settings):
    """CHAIN_CHECK_HOURS apart, whenever the job runs between (every few seconds, so that a
    DSL's "Check it now" is taken up at once)."""
    slower = settings.model_copy(update={"chain_check_hours": 6})
    at = clock.now()
    run_job("chain_check", db, slower, at)
    for later in (timedelta(minutes=1), timedelta(hours=5, minutes=59)):
        run_job("chain_check", db, slower, at + later)
    assert count_rows(db, "chain_check") == 1
    run_job("chain_check", db, slower, at + timedelta(hours=6))
    assert count_rows(db, "chain_check") == 2


# Entries around the midnights that start the chart's weeks: the week before or after, a few
# minutes either side, in summer time and in winter time.
near_midnights = st.lists(
    st.tuples(st.integers(min_value=0, max_value=11), st.integers(min_value=-90, max_value=90)),
    max_size=5,
)


@examples(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(near=near_midnights)
def test_each_flagged_entry_counts_in_its_school_week(client, world, school, db, settings, near):
    """Each flagged entry counts in the week its school's calendar puts it in, however near
    a week's first midnight it happened (entries add up across examples)."""
    cid = _approved(client, world, school)
    owner = world.auth("owner")
    now = clock.now()
    zone = ZoneInfo("Europe/London")
    today = school_date(now, zone)
    first = today - timedelta(days=today.weekday() + 7 * 11)
    for week, minutes in near:
        midnight = datetime.combine(first + timedelta(weeks=week), time.min, tzinfo=zone)
        at = midnight + timedelta(minutes=minutes)
        if at <= now:  # from a device nobody registered: flagged
            logged = client.post(
                f"/contacts/{cid}/messages",
                json=message(occurred_at=at.isoformat(), device_tag="HOME-PHONE"),
                headers=owner,
            )
            assert logged.status_code == 201, logged.text
    dsl = Principal(
        staff_id=world.ids["dsl"],
        school_id=world.school_a,
        trust_id=world.trust,
        roles=frozenset({Role.staff, Role.dsl}),
    )
    with db.session() as session:
        policy = policy_for(session, world.trust, settings)
        weeks = flagged_per_week(session=session, actor=dsl, policy=policy, at=now, weeks=12)
        logged = session.exec(
            select(Message.occurred_at, Message.flags).where(Message.school_id == world.school_a)
        ).all()
    # Flagged for a concern: for a flag that is not advice alone.
    flagged = [at for at, flags in logged if set(flags.split(",")) - {"", *ADVISORY_FLAGS}]
    expected: dict[date, int] = {}
    for occurred in flagged:
        day = school_date(occurred, zone)
        monday = day - timedelta(days=day.weekday())
        expected[monday] = expected.get(monday, 0) + 1
    assert len(weeks) == 12
    assert {w.week_of: w.flagged for w in weeks} == {
        w.week_of: expected.get(w.week_of, 0) for w in weeks
    }


def test_the_change_record_page_names_what_no_longer_matches(client, world, school, db, settings):
    """The alert email sends the DSL to the change record's page: it says which record."""
    cid = _approved(client, world, school)
    client.post(f"/contacts/{cid}/messages", json=message(), headers=world.auth("owner"))
    _rewrite_first_message(db, cid)
    run_job("chain_check", db, settings)
    sign_in(client, "dsl@a.example.org", code=pyotp.TOTP(enrol(db, world.ids["dsl"])).now())
    shown = client.get("/app/change-record").text
    assert "does NOT verify" in shown
    assert "What no longer matches the record" in shown
    assert re.search(r'<li><a href="/app/review/\d+">message</a>: edited</li>', shown)
