"""The full check of the change record runs out of the request path and is resumable: a DSL's
"Check it now" asks the scheduler, a check stopped part way (a restart, a crash) is taken up
where it got to by the next runner once its hold has lapsed, never begun again and never
counted twice, what it found before it stopped is kept, and a runner that lost its hold writes
nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from core import clock
from core.record import full_check, scan, verification
from core.record.models import ChainCheck, ChainCheckFinding
from scheduler import full_check as runner
from scheduler.runner import run_job
from tests.support.record import checked


class Stopped(Exception):
    """The runner's process dies part way through a check."""


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps of a few leaves and records, each written down: a small record makes many."""
    monkeypatch.setattr(scan, "LEAVES_PER_STEP", 2)
    monkeypatch.setattr(scan, "RECORDS_PER_STEP", 3)
    monkeypatch.setattr(runner, "WRITE_EVERY", 0.0)


def _stopping_after(
    monkeypatch: pytest.MonkeyPatch, count: int, *, once_found: bool = False
) -> list[scan.Place]:
    """The check's steps as before, but the process dies after `count` of them (or after the
    first that found something); returns where each run of the steps began."""
    began: list[scan.Place] = []
    steps = scan.steps

    def dying(session, place):  # type: ignore[no-untyped-def]
        began.append(place)
        for n, step in enumerate(steps(session, place)):
            if n == count:
                raise Stopped
            yield step
            if once_found and (step.altered or step.findings):
                raise Stopped

    monkeypatch.setattr(scan, "steps", dying)
    return began


def _check(db) -> ChainCheck:  # type: ignore[no-untyped-def]
    with db.session() as session:
        [check] = session.exec(select(ChainCheck)).all()
        return check


def _whole(db) -> verification.VerifyResult:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return verification.verify(session)


def test_a_check_stopped_part_way_resumes_where_it_got_to(
    client, world, db, settings, busy, small_steps, monkeypatch
):
    at = clock.now()
    run_job("log", db, settings, at)  # the events in their trust's log, leaf by leaf
    whole = _whole(db)
    began = _stopping_after(monkeypatch, 5)
    with pytest.raises(Stopped):
        run_job("chain_check", db, settings, at)
    stopped = _check(db)
    assert (stopped.state, stopped.pending, stopped.finished_at) == ("running", 1, None)
    assert 0 < stopped.events_checked < whole.checked
    # A DSL sees it under way, and nothing claimed of the record yet.
    shown = client.get("/audit/verify", headers=world.auth("dsl")).json()
    assert shown["ok"] is None
    assert shown["checking"]["running"] is True
    assert shown["checking"]["events_checked"] == stopped.events_checked

    # While its hold lasts, nobody else takes it up (its runner may only be slow).
    assert run_job("chain_check", db, settings, at + timedelta(minutes=1)) == 0
    assert _check(db).events_checked == stopped.events_checked
    assert len(began) == 1

    # Once the hold has lapsed, the next run takes it up from where it got to.
    monkeypatch.undo()
    began = _stopping_after(monkeypatch, 10_000)
    monkeypatch.setattr(scan, "LEAVES_PER_STEP", 2)
    monkeypatch.setattr(scan, "RECORDS_PER_STEP", 3)
    monkeypatch.setattr(runner, "WRITE_EVERY", 0.0)
    assert run_job("chain_check", db, settings, at + full_check.HOLD + timedelta(seconds=1)) == 0
    assert began == [full_check.place_of(stopped)]
    assert began[0] != scan.Place()
    done = _check(db)
    assert (done.state, done.pending, done.ok) == ("done", None, True)
    # Every event and record checked once: none skipped, none counted twice.
    assert (done.events_checked, done.records_checked) == (whole.checked, whole.records_checked)
    shown = client.get("/audit/verify", headers=world.auth("dsl")).json()
    assert shown["ok"] is True
    assert shown["checking"] is None


def test_what_a_stopped_check_found_is_kept_and_reported_when_it_ends(
    client, world, db, settings, busy, small_steps, monkeypatch, mail_settings, mail_server
):
    with db.engine.begin() as conn:  # in the first records checked: the first message
        conn.execute(
            text(
                "UPDATE message SET summary = 'Nothing to see here' WHERE id = "
                "(SELECT min(id) FROM message)"
            )
        )
    whole = _whole(db)
    [altered] = whole.altered
    at = clock.now()
    _stopping_after(monkeypatch, 10_000, once_found=True)
    with pytest.raises(Stopped):
        run_job("chain_check", db, mail_settings, at)
    with db.session() as session:
        kept = session.exec(select(ChainCheckFinding)).all()
    assert [(f.record_type, f.record_id, f.change) for f in kept] == [
        ("message", altered.record_id, "edited")
    ]
    assert _check(db).ok is False
    monkeypatch.undo()
    resumed = at + full_check.HOLD * 2
    assert run_job("chain_check", db, mail_settings, resumed) == 1
    shown = client.get("/audit/verify", headers=world.auth("dsl")).json()
    assert shown["ok"] is False
    assert shown["altered"] == [
        {"record_type": "message", "record_id": altered.record_id, "change": "edited"}
    ]
    run_job("outbox", db, mail_settings, resumed + timedelta(minutes=1))
    assert any("does NOT verify" in s for s in mail_server.inbox.subjects("dsl@a.example.org"))


def test_a_runner_that_lost_its_hold_writes_nothing_more(db, busy, settings):
    at = clock.now()
    with db.transaction() as session:
        full_check.ask(session, asked_by=None, at=at)
    with db.transaction() as session:
        mine = full_check.take_up(session, at=at)
        assert mine is not None
        held = mine.held_until
    later = at + full_check.HOLD + timedelta(seconds=1)
    with db.transaction() as session:  # it stalled: another runner takes the check up
        theirs = full_check.take_up(session, at=later)
        assert theirs is not None
    progress = full_check.Progress(scan.Place("records", kind="message", record_id=1), events=7)
    assert mine.id is not None
    assert held is not None
    with db.transaction() as session:
        with pytest.raises(full_check.HoldLost):
            full_check.write_progress(session, mine.id, progress, held_since=held, at=later)
        with pytest.raises(full_check.HoldLost):
            full_check.finish(session, mine.id, held_since=held, at=later)
    assert (_check(db).events_checked, _check(db).phase) == (0, "events")


def test_reading_the_outcome_hashes_nothing(client, world, db, busy, monkeypatch):
    """GET /audit/verify and the pages read the check on file; only the scheduler checks."""
    first = checked(client, world.auth("dsl"))

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a request made a check")

    monkeypatch.setattr(scan, "steps", refuse)
    assert client.get("/audit/verify", headers=world.auth("dsl")).json() == first
