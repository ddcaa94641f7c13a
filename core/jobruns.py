"""Each scheduled job's runs, kept in the database: what operators see in /metrics and what
/readyz checks, whichever process (the API's own scheduler or `contactlog scheduler`) ran them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from core.models import JobRun


def record(
    session: Session, *, job: str, started: datetime, ok: bool, count: int, seconds: float
) -> None:
    """One run of `job`, counted whether it did anything or failed."""
    values = {
        "runs": JobRun.runs + 1,
        "last_started_at": started,
        "last_count": count,
        "last_seconds": seconds,
        **(
            {"last_ok_at": started}
            if ok
            else {"failures": JobRun.failures + 1, "last_failed_at": started}
        ),
    }
    bumped = session.execute(update(JobRun).where(JobRun.job == job).values(**values))  # type: ignore[arg-type]
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.add(
                    JobRun(
                        job=job,
                        runs=1,
                        failures=0 if ok else 1,
                        last_started_at=started,
                        last_ok_at=started if ok else None,
                        last_failed_at=None if ok else started,
                        last_count=count,
                        last_seconds=seconds,
                    )
                )
        except IntegrityError:  # another scheduler recorded its first run at the same moment
            session.execute(update(JobRun).where(JobRun.job == job).values(**values))  # type: ignore[arg-type]


def last_success(session: Session) -> datetime | None:
    """When any job last ran to the end: the scheduler's heartbeat."""
    return session.exec(select(func.max(JobRun.last_ok_at))).one()


def all_runs(session: Session) -> list[JobRun]:
    return list(session.exec(select(JobRun).order_by(JobRun.job)).all())
