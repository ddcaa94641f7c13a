"""How the scheduled jobs work: small steps of rows, each its own transaction, so a fault
costs one step and two schedulers share the work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from core.db import Database
from core.directory.models import School
from core.policy import Policy, policy_for
from core.principal import Principal
from core.settings import Settings

SCHEDULER = Principal.scheduler()


def schools_and_policies(db: Database, settings: Settings) -> list[tuple[School, Policy]]:
    """Every school with its trust's policy: jobs that work school by school start here."""
    with db.session(for_reading=True) as session:
        schools = list(session.exec(select(School)).all())
        policies = {t: policy_for(session, t, settings) for t in {s.trust_id for s in schools}}
        session.expunge_all()
    return [(s, policies[s.trust_id]) for s in schools]


# ---------------------------------------------------------------- working in small steps

# Rows each step claims: a step is its own transaction, so a dropped connection or a crash
# costs one step, and two schedulers take different steps instead of waiting on each other.
STEP = 50
# A run stops after this many steps; the next run carries on.
MOST_STEPS = 2_000


def in_steps(db: Database, step: Callable[[Session], int | None]) -> int:
    """Run `step` in transactions of its own until it finds nothing more to do (None)."""
    total = 0
    for _ in range(MOST_STEPS):
        with db.transaction() as session:
            done = step(session)
        if done is None:
            break
        total += done
    return total


def due_ids(session: Session, query: Any) -> list[int]:
    """The ids of up to STEP due rows; on PostgreSQL, rows another scheduler holds are skipped."""
    return list(session.exec(query.limit(STEP).with_for_update(skip_locked=True)).all())


def each_due(db: Database, query: Any, handle: Callable[[Session, int], int]) -> int:
    """`handle` each id `query` finds, a step of them at a time, until it finds none; ids seen
    twice in one step (a contact with several due tasks) are handled once."""

    def step(session: Session) -> int | None:
        found = due_ids(session, query)
        if not found:
            return None
        return sum(handle(session, row_id) for row_id in dict.fromkeys(found))

    return in_steps(db, step)


def each_in_turn(db: Database, query: Any, key: Any, handle: Callable[[Session, int], int]) -> int:
    """`handle` each id `query` finds, in the order of `key` (its id column), a step of them at a
    time: for rows that stay found once handled (a request whose next reminder is not due yet),
    so each step starts after the last id the one before took. Each row's own claim (`once.took`,
    an outbox key) makes its work happen once; on PostgreSQL, rows another scheduler holds are
    skipped."""
    after = 0

    def step(session: Session) -> int | None:
        nonlocal after
        found = due_ids(session, query.where(key > after).order_by(key))
        if not found:
            return None
        after = found[-1]
        return sum(handle(session, row_id) for row_id in found)

    return in_steps(db, step)


# ---------------------------------------------------------------- the jobs
