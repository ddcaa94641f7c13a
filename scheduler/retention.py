"""The retention job: each trust's schedule applied once a day, its report emailed to the
trust's administrators and its data protection officer."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from contacts.data_protection.retention import service
from contacts.data_protection.retention.models import RetentionReport
from core import about
from core.db import Database
from core.directory.models import Role, School, Staff, StaffRole, Trust
from core.outbox import enqueue
from core.policy import policy_for
from core.principal import Principal
from core.settings import Settings
from scheduler import emails
from scheduler.steps import SCHEDULER, each_in_turn


def retention(db: Database, settings: Settings, at: datetime) -> int:
    """Every trust's run; how many records were redacted."""
    return sum(r.count for report in run_all(db, settings, at) for r in report.redacted)


def run_all(
    db: Database, settings: Settings, at: datetime, actor: Principal = SCHEDULER
) -> list[RetentionReport]:
    """Each trust a step of its own, in its own transaction: one trust's fault leaves the others'
    runs standing. A trust's run is claimed by holding its retention lock
    (`serialise_with_retention`): a second scheduler waits, then finds nothing left to do."""
    reports = []

    def run_one(session: Session, trust_id: int) -> int:
        policy = policy_for(session, trust_id, settings)
        report = service.run(session=session, actor=actor, policy=policy, at=at)
        if report is None:
            return 0
        _tell(session, report, policy.dpo_email, settings, at)
        reports.append(report)
        return 1

    each_in_turn(db, select(col(Trust.id)), col(Trust.id), run_one)
    return reports


def _tell(
    session: Session, report: RetentionReport, dpo: str | None, settings: Settings, at: datetime
) -> None:
    admins = session.exec(
        select(Staff)
        .join(StaffRole, col(StaffRole.staff_id) == col(Staff.id))
        .join(School, col(School.id) == col(Staff.school_id))
        .where(
            School.trust_id == report.trust_id,
            StaffRole.role == Role.trust_admin,
            col(Staff.is_active),
        )
        .order_by(col(Staff.id))
    ).all()
    to = [(a.email, a.id) for a in admins] + ([(dpo, None)] if dpo else [])
    schools = {
        s.id: s.name
        for s in session.exec(select(School).where(School.trust_id == report.trust_id))
        if s.id is not None
    }
    for address, staff_id in to:
        # A trust admin who is the subject of a hold is not told of it, even by a count.
        hidden = about.hidden_ids(session, "legal_hold", staff_id)
        concerns = about.hidden_ids(session, "concern", staff_id) if staff_id else set()
        email = emails.retention_report(
            service.seen_by(report, None, hidden, concerns), settings.public_url, schools
        )
        enqueue(
            session,
            dedupe_key=f"retention:{report.id}:to:{address}",
            kind="retention_report",
            to_address=address,
            to_staff_id=staff_id,
            subject=email.subject,
            body=email.body,
            at=at,
        )
