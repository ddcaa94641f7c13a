"""APScheduler wiring: when each job runs, in the API process or in its own process."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from core import clock, jobruns
from core.db import Database
from core.settings import Settings
from scheduler.jobs import JOBS, Job

log = logging.getLogger("contactlog.scheduler")

# Seconds between runs. Every job is idempotent and reads the database, so running often costs
# little and a restart loses nothing: the next run finds what is due.
EVERY: dict[str, int] = {
    "end_sweep": 15 * 60,
    "ending_soon": 60 * 60,
    "deletion_reminders": 15 * 60,
    "alerts": 30,
    # Captured messages matched again, and those missing past the trust's period flagged.
    "captures": 15 * 60,
    # Concerns' readers told within a minute; overdue referrals and actions, and the periodic
    # review, at most once a day each (their emails are keyed by the day).
    "concerns": 60,
    "approvals": 15 * 60,
    # Each run drains what is due, so a short pause between runs is enough.
    "outbox": 5,
    "housekeeping": 60 * 60,
    # A full check is begun every CHAIN_CHECK_HOURS, or within seconds of a DSL asking for
    # one; a run finds nothing to do in one query otherwise.
    "chain_check": 15,
    # Events join their trust's log within seconds (proofs of them are ready then); a grown
    # log is checked and signed every few minutes (scheduler/checkpointing.SIGN_EVERY).
    "log": 10,
    # Each new checkpoint to the trust's witnesses, for their cosignatures.
    "witness": 60,
    "checkpoint": 24 * 60 * 60,
    "retention": 24 * 60 * 60,
    "subject_access": 60 * 60,
    "consent_requests": 10 * 60,
}


# Seconds after an API process starts before each job's first run in it. Email waiting to go,
# and the DSL's alerts, go at once; the rest wait a little, and what reads the whole record
# (its full check, checkpoints, retention) a little longer: a replica started under load serves
# before they begin, instead of competing with its own first requests. A restart still loses
# nothing. The scheduler as its own process serves nobody, and runs every job at once.
FIRST_RUN_AFTER: dict[str, int] = {
    "outbox": 0,
    "alerts": 0,
    "chain_check": 120,
    "checkpoint": 120,
    "retention": 120,
}
FIRST_RUN_DEFAULT = 30


def run_job(name: str, db: Database, settings: Settings, at: datetime | None = None) -> int:
    """Run one job now (or as of `at`); what the scheduler, `jobs run` and the tests all call.
    The clock is read here, once: every rule the job reaches is given `at`. Every run is logged
    in one line (the job, what it did, how long; never personal data) and
    counted in the database for /metrics and /readyz."""
    job: Job = JOBS[name]
    started, began = datetime.now(UTC), time.perf_counter()
    ok, count = False, 0
    try:
        count = job(db, settings, at if at is not None else clock.now())
        ok = True
        return count
    finally:
        seconds = time.perf_counter() - began
        fields = {"job": name, "count": count, "seconds": round(seconds, 4), "ok": ok}
        if ok:
            log.info("job %s: %s in %.3f s", name, count, seconds, extra=fields)
        else:
            log.error("job %s failed after %.3f s", name, seconds, extra=fields)
        _count_run(db, name, started, ok, count, seconds)


def _count_run(
    db: Database, name: str, started: datetime, ok: bool, count: int, seconds: float
) -> None:
    try:
        with db.transaction() as session:
            jobruns.record(session, job=name, started=started, ok=ok, count=count, seconds=seconds)
    except Exception:  # the database is down, say: the run's own line above still tells
        log.warning("job %s: its run could not be counted", name, exc_info=True)


def _safely(name: str, db: Database, settings: Settings) -> None:
    try:
        run_job(name, db, settings)
    except Exception:
        # A failed run changes nothing (its transaction rolled back); the next run tries again.
        log.exception("job %s failed", name, extra={"job": name})


def configure(
    scheduler: BaseScheduler,
    db: Database,
    settings: Settings,
    first_run_after: dict[str, int] | None = None,
) -> BaseScheduler:
    for name, seconds in EVERY.items():
        scheduler.add_job(
            _safely,
            "interval",
            seconds=seconds,
            args=(name, db, settings),
            id=name,
            # A run missed while the server was down happens once when it is back, not once per
            # missed interval; runs never overlap within one process.
            coalesce=True,
            misfire_grace_time=24 * 60 * 60,
            max_instances=1,
            next_run_time=clock.now() + timedelta(seconds=_after(first_run_after, name)),
        )
    return scheduler


def _after(first_run_after: dict[str, int] | None, name: str) -> int:
    if first_run_after is None:
        return 0
    return first_run_after.get(name, FIRST_RUN_DEFAULT)


def in_process(db: Database, settings: Settings) -> BackgroundScheduler:
    scheduler = configure(BackgroundScheduler(timezone="UTC"), db, settings, FIRST_RUN_AFTER)
    assert isinstance(scheduler, BackgroundScheduler)
    return scheduler


def standalone(db: Database, settings: Settings) -> BlockingScheduler:
    scheduler = configure(BlockingScheduler(timezone="UTC"), db, settings)
    assert isinstance(scheduler, BlockingScheduler)
    return scheduler
