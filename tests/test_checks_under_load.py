"""The change record's checks under ordinary load: while writers commit, every check (the
scheduler's, asked for by the hour or by a DSL's "Check it now", and one made at once) judges
one moment of the record, so none cries wolf; an alteration made in the middle of that load is
still named by the next check; and "Check it now" cannot be pressed into keeping the server
hashing."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import text as sql

from api.web.acting import COOKIE
from core import clock
from core.db import read_consistently
from core.directory.models import GuardianCreate, PupilCreate, Role
from core.directory.pupils import add_guardian, create_pupil
from core.identity import browser_sessions
from core.policy import deployment_policy
from core.principal import Principal
from core.record import full_check, verification
from scheduler.full_check import check_chain
from tests.support.record import checked

CHECKS = 12
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _writers(db, world, settings, stop: threading.Event, failures: list[BaseException]):  # type: ignore[no-untyped-def]
    """Two admins' worth of ordinary work: pupils added, each with a guardian, as fast as the
    database takes them, until told to stop."""
    admin = Principal(
        staff_id=world.ids["admin"],
        school_id=world.school_a,
        trust_id=world.trust,
        roles=frozenset({Role.admin}),
    )
    policy = deployment_policy(settings, world.trust)

    def work(lane: int) -> None:
        n = 0
        try:
            while not stop.is_set():
                n += 1
                with db.transaction() as session:
                    pupil = create_pupil(
                        session=session,
                        actor=admin,
                        policy=policy,
                        at=clock.now(),
                        pupil_in=PupilCreate(
                            given_name=f"Lane{lane}",
                            family_name=f"Pupil{n}",
                            date_of_birth=date(2012, 1, 1),
                            school_reference=f"L{lane}-{n}",
                        ),
                    )
                    assert pupil.id is not None
                    add_guardian(
                        session=session,
                        actor=admin,
                        at=clock.now(),
                        pupil_id=pupil.id,
                        guardian_in=GuardianCreate(
                            name="A Parent", relationship="parent", has_parental_responsibility=True
                        ),
                    )
        except BaseException as exc:  # pragma: no cover - reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(lane,), daemon=True) for lane in (1, 2)]
    for thread in threads:
        thread.start()
    return threads


def test_checks_made_while_writers_commit_never_alarm_and_still_catch_an_alteration(
    client, world, school, db, settings
):
    stop, failures = threading.Event(), []  # type: ignore[var-annotated]
    threads = _writers(db, world, settings, stop, failures)
    try:
        verdicts = []
        for n in range(CHECKS):
            # One made at once, and the scheduler's as a DSL reads it, in turn.
            if n % 2:
                with db.session(for_reading=True) as reading:
                    read_consistently(reading)
                    verdicts.append(verification.verify(reading).ok)
            else:
                verdicts.append(checked(client, world.auth("dsl"))["ok"])
        assert verdicts == [True] * CHECKS, "a check under load cried wolf"
        with db.transaction() as session:
            full_check.ask(session, asked_by=None, at=clock.now())
        assert check_chain(db, settings, clock.now()) == 0, "the scheduler's check alarmed"
        # Someone edits a record in the database while the writers carry on.
        with db.transaction() as session:
            session.execute(
                sql("UPDATE pupil SET family_name = 'Quietly changed' WHERE id = :p"),
                {"p": school["young"]},
            )
        named = checked(client, world.auth("dsl"))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not failures, failures
    assert named["ok"] is False
    assert {"record_type": "pupil", "record_id": school["young"], "change": "edited"} in named[
        "altered"
    ]
    with db.engine.connect() as conn:
        pupils = conn.execute(sql("SELECT count(*) FROM pupil")).scalar_one()
    assert pupils > 2, "the writers wrote while the checks ran"


def test_check_it_now_runs_once_a_minute_whoever_presses(client, world, db, settings):
    from core.record import change_record

    reader = Principal(
        staff_id=world.ids["dsl"],
        school_id=world.school_a,
        trust_id=world.trust,
        roles=frozenset({Role.dsl}),
    )
    at = clock.now()
    with db.transaction() as session:
        asked = change_record.check_now(session=session, actor=reader, at=at)
    assert asked.ok is None  # nothing filed yet: not "verifies", not "altered"
    assert asked.checking is not None
    assert not asked.checking.running
    # A second press at once, by anyone, is told to wait rather than hashing everything again.
    from core.errors import TooManyAttempts

    with db.transaction() as session:
        try:
            change_record.check_now(session=session, actor=reader, at=at + timedelta(seconds=5))
            refused = False
        except TooManyAttempts as exc:
            refused = exc.retry_after is not None and exc.retry_after > 0
    assert refused
    assert check_chain(db, settings, at + timedelta(seconds=15)) == 0  # the scheduler makes it
    with db.transaction() as session:
        later = change_record.check_now(
            session=session, actor=reader, at=at + timedelta(minutes=1, seconds=1)
        )
    assert later.ok is True
    assert later.checking is not None


def test_a_second_ask_while_a_check_is_on_its_way_is_told_so(client, world, db, settings):
    """Two DSLs pressing at once, or the schedule and a DSL: one check is asked for, the other
    told it is on its way (409); the API says the same."""
    dsl = world.auth("dsl")
    first = client.post("/audit/verify", headers=dsl)
    assert first.status_code == 202, first.text
    assert first.json()["checking"]["running"] is False
    with db.transaction() as session:
        session.execute(sql("UPDATE chain_check SET checked_at = :t"), {"t": "2000-01-01"})
    again = client.post("/audit/verify", headers=world.auth("trust_dsl"))
    assert again.status_code == 409
    assert "already on its way" in again.json()["detail"]
    assert client.get("/audit/verify", headers=dsl).json()["ok"] is None


def test_check_it_now_refuses_a_second_check_while_one_runs(client, world, db):
    from core.errors import Conflict

    with (
        verification.only_check(busy="busy"),
        pytest.raises(Conflict, match="running"),
        verification.only_check(busy="A check is running now"),
    ):
        raise AssertionError("two checks at once")


def test_the_dashboards_button_says_to_wait_rather_than_failing(client, world, db, settings):
    with db.transaction() as session:
        cookie = browser_sessions.start(
            session=session,
            staff_id=world.ids["dsl"],
            generation=0,
            settings=settings,
            at=clock.now(),
        )
    client.cookies.set(COOKIE, cookie)
    shown = client.get("/app/dashboard")
    token = FORM_TOKEN.search(shown.text).group(1)  # type: ignore[union-attr]
    first = client.post("/app/dashboard/check", data={"form_token": token}, follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/app/dashboard?checking=asked"
    asked = client.get(first.headers["location"])
    assert "on its way" in asked.text
    assert "has not been checked yet" in asked.text
    again = client.post("/app/dashboard/check", data={"form_token": token}, follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/app/dashboard?checking=wait"
    told = client.get(again.headers["location"])
    assert "Check again in a minute" in told.text
    check_chain(db, settings, clock.now())
    done = client.get("/app/dashboard")
    assert "The change record verifies" in done.text
    assert "Check it now" in done.text
