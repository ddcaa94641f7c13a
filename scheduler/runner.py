"""APScheduler wiring: when each job runs, in the API process or in its own process."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from core import clock
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
    "approvals": 15 * 60,
    # Each run drains what is due, so a short pause between runs is enough.
    "outbox": 5,
    "housekeeping": 60 * 60,
}


def run_job(name: str, db: Database, settings: Settings, at: datetime | None = None) -> int:
    """Run one job now (or as of `at`); what the scheduler, `jobs run` and the tests all call."""
    job: Job = JOBS[name]
    if at is None:
        return job(db, settings, clock.now())
    clock.set_clock(lambda: at)
    try:
        return job(db, settings, at)
    finally:
        clock.set_clock(None)


def _safely(name: str, db: Database, settings: Settings) -> None:
    try:
        count = run_job(name, db, settings)
        if count:
            log.info("job %s: %s", name, count)
    except Exception:
        # A failed run changes nothing (its transaction rolled back); the next run tries again.
        log.exception("job %s failed", name)


def configure(scheduler: BaseScheduler, db: Database, settings: Settings) -> BaseScheduler:
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
            next_run_time=clock.now(),
        )
    return scheduler


def in_process(db: Database, settings: Settings) -> BackgroundScheduler:
    scheduler = configure(BackgroundScheduler(timezone="UTC"), db, settings)
    assert isinstance(scheduler, BackgroundScheduler)
    return scheduler


def standalone(db: Database, settings: Settings) -> BlockingScheduler:
    scheduler = configure(BlockingScheduler(timezone="UTC"), db, settings)
    assert isinstance(scheduler, BlockingScheduler)
    return scheduler
