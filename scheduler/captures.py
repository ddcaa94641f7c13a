"""The captures job: captured messages matched again to what has been logged since, and each
still missing once the trust's period has passed made a flagged entry (the DSL alerted, once)."""

from __future__ import annotations

from datetime import datetime

from contacts.capture import overdue
from core.db import Database
from core.settings import Settings
from scheduler.steps import SCHEDULER, schools_and_policies


def captures(db: Database, settings: Settings, at: datetime) -> int:
    """School by school: how many captured messages became flagged entries."""
    made = 0
    for school, policy in schools_and_policies(db, settings):
        with db.transaction() as session:
            overdue.rematch(session, actor=SCHEDULER, policy=policy, school=school, at=at)
            due = overdue.overdue(session, policy=policy, school=school, at=at)
        for captured_id in due:  # each in its own transaction: one failure loses one
            with db.transaction() as session:
                made += overdue.flag_overdue(
                    session,
                    actor=SCHEDULER,
                    policy=policy,
                    school=school,
                    at=at,
                    captured_id=captured_id,
                )
    return made
