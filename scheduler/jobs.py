"""The scheduled jobs. Each reads the database, claims its rows with a conditional update, and
queues email in the same transaction, so a job run twice, or by two schedulers, sends once."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from contacts.incident_models import Incident
from contacts.models import (
    Alert,
    AlertKind,
    Contact,
    ContactPupil,
    ContactState,
    DeletionTask,
    Message,
)
from contacts.service import end_contacts_past_their_end_date
from core import throttle
from core.clock import school_date
from core.db import Database
from core.directory.access import school_zone
from core.directory.models import Pupil, Role, School, Staff, Trust
from core.principal import Principal
from core.settings import Settings
from scheduler import emails
from scheduler.delivery import deliver_outbox
from scheduler.recipients import claimed, manager_and_dsls, send, staff_with_role, stamp_once

log = logging.getLogger("contactlog.scheduler")
SCHEDULER = Principal.command_line()


@dataclass(frozen=True)
class Intervals:
    ending_notice_days: int
    reminder_every_days: int
    escalate_after_days: int


def intervals(session: Session, school: School, settings: Settings) -> Intervals:
    trust = session.get(Trust, school.trust_id)

    def pick(name: str) -> int:
        own = getattr(trust, name, None) if trust is not None else None
        return int(own if own is not None else getattr(settings, name))

    return Intervals(
        pick("ending_notice_days"), pick("reminder_every_days"), pick("escalate_after_days")
    )


# ---------------------------------------------------------------- the jobs


def end_sweep(db: Database, settings: Settings, at: datetime) -> int:
    """Contacts past their end date end, through the same function as a manual end."""
    with db.transaction() as session:
        return end_contacts_past_their_end_date(session=session, actor=SCHEDULER, at=at)


def ending_soon(db: Database, settings: Settings, at: datetime) -> int:
    sent = 0
    with db.transaction() as session:
        for school in session.exec(select(School)).all():
            today = school_date(at, school_zone(school))
            notice = intervals(session, school, settings).ending_notice_days
            due = session.exec(
                select(Contact).where(
                    Contact.school_id == school.id,
                    Contact.state == ContactState.approved,
                    col(Contact.ending_notice_at).is_(None),
                    Contact.ends_on >= today,
                    Contact.ends_on <= today + timedelta(days=notice),
                )
            ).all()
            for contact in due:
                if not stamp_once(session, col(Contact.ending_notice_at), contact.id, at):
                    continue
                owner = session.get(Staff, contact.staff_id)
                assert owner is not None
                email = emails.ending_soon(contact, base_url=settings.public_url)
                send(
                    session,
                    f"ending-soon:{contact.id}",
                    "ending_soon",
                    owner,
                    email,
                    school.id,
                    contact.id,
                )
                sent += 1
    return sent


def _pupils_to_name(
    session: Session, contact: Contact, tasks: list[DeletionTask]
) -> list[str] | None:
    """Name pupils only when part of the contact ended: then the holder must know whom to remove."""
    links = session.exec(select(ContactPupil).where(ContactPupil.contact_id == contact.id)).all()
    if len(tasks) >= len(links):
        return None
    pupils = session.exec(
        select(Pupil).where(col(Pupil.id).in_([t.pupil_id for t in tasks])).order_by(col(Pupil.id))
    ).all()
    return [f"{p.given_name} {p.family_name[:1]}. ({p.school_reference})" for p in pupils]


def deletion_reminders(db: Database, settings: Settings, at: datetime) -> int:
    """The prompt when a contact ends, a reminder every R days, and escalation after E days."""
    sent = 0
    with db.transaction() as session:
        due = session.exec(
            select(DeletionTask).where(
                col(DeletionTask.confirmed_at).is_(None), col(DeletionTask.next_reminder_at) <= at
            )
        ).all()
        by_contact: dict[int, list[DeletionTask]] = defaultdict(list)
        number: dict[int, int] = {}  # which reminder this is, counted before the claim bumps it
        for task in due:
            school = session.get(School, task.school_id)
            assert school is not None and task.id is not None
            every = intervals(session, school, settings).reminder_every_days
            number[task.id] = task.reminders_sent + 1
            if claimed(
                session,
                update(DeletionTask)
                .where(
                    col(DeletionTask.id) == task.id,
                    col(DeletionTask.reminders_sent) == task.reminders_sent,
                    col(DeletionTask.confirmed_at).is_(None),
                )
                .values(
                    reminders_sent=task.reminders_sent + 1,
                    next_reminder_at=at + timedelta(days=every),
                ),
            ):
                by_contact[task.contact_id].append(task)
        for contact_id, tasks in by_contact.items():
            contact = session.get(Contact, contact_id)
            owner = session.get(Staff, tasks[0].staff_id)
            school = session.get(School, tasks[0].school_id)
            assert contact is not None and owner is not None and school is not None
            escalate = intervals(session, school, settings).escalate_after_days
            first = min(tasks, key=lambda t: t.created_at)
            email = emails.delete_contact_method(
                contact,
                pupils=_pupils_to_name(session, contact, tasks),
                reminder=number[tasks[0].id or 0],
                escalate_on=school_date(
                    first.created_at + timedelta(days=escalate), school_zone(school)
                ),
                base_url=settings.public_url,
            )
            key = f"deletion:{min(t.id or 0 for t in tasks)}:{number[tasks[0].id or 0]}"
            send(session, key, "deletion_reminder", owner, email, school.id, contact_id)
            sent += 1
    return sent + _escalate(db, settings, at)


def _escalate(db: Database, settings: Settings, at: datetime) -> int:
    sent = 0
    with db.transaction() as session:
        open_tasks = session.exec(
            select(DeletionTask).where(
                col(DeletionTask.confirmed_at).is_(None), col(DeletionTask.escalated_at).is_(None)
            )
        ).all()
        by_contact: dict[int, list[DeletionTask]] = defaultdict(list)
        for task in open_tasks:
            school = session.get(School, task.school_id)
            assert school is not None
            days = intervals(session, school, settings).escalate_after_days
            if task.created_at + timedelta(days=days) > at:
                continue
            if stamp_once(session, col(DeletionTask.escalated_at), task.id, at):
                by_contact[task.contact_id].append(task)
        for contact_id, tasks in by_contact.items():
            contact = session.get(Contact, contact_id)
            owner = session.get(Staff, tasks[0].staff_id)
            school = session.get(School, tasks[0].school_id)
            assert contact is not None and owner is not None and school is not None
            days = intervals(session, school, settings).escalate_after_days
            email = emails.deletion_overdue(
                contact, staff_name=owner.name, days=days, base_url=settings.public_url
            )
            key = f"escalation:{min(t.id or 0 for t in tasks)}"
            for person in manager_and_dsls(session, school, owner):
                send(session, key, "deletion_escalation", person, email, school.id, contact_id)
                sent += 1
    return sent


def alerts(db: Database, settings: Settings, at: datetime) -> int:
    """DSLs hear of each flagged message; staff, when a consent on their contact is withdrawn."""
    sent = 0
    with db.transaction() as session:
        pending = session.exec(select(Alert).where(col(Alert.emailed_at).is_(None))).all()
        for alert in pending:
            if not stamp_once(session, col(Alert.emailed_at), alert.id, at):
                continue
            school = session.get(School, alert.school_id)
            assert school is not None
            if alert.kind == AlertKind.incident_reported and alert.incident_id is not None:
                sent += _incident_alert(session, alert, school, settings)
                continue
            contact = session.get(Contact, alert.contact_id) if alert.contact_id else None
            assert contact is not None
            if alert.kind == AlertKind.flagged_message and alert.message_id is not None:
                message = session.get(Message, alert.message_id)
                assert message is not None
                email = emails.flagged_message(
                    contact,
                    message_id=alert.message_id,
                    flags=message.flag_list,
                    base_url=settings.public_url,
                )
                for dsl in staff_with_role(session, school, Role.dsl):
                    send(
                        session, f"alert:{alert.id}", alert.kind, dsl, email, school.id, contact.id
                    )
                    sent += 1
            elif alert.kind == AlertKind.consent_withdrawn and alert.staff_id is not None:
                owner = session.get(Staff, alert.staff_id)
                assert owner is not None
                email = emails.consent_withdrawn(contact, base_url=settings.public_url)
                send(session, f"alert:{alert.id}", alert.kind, owner, email, school.id, contact.id)
                sent += 1
    return sent


def _incident_alert(session: Session, alert: Alert, school: School, settings: Settings) -> int:
    """The reporter's line manager and the DSL hear of every incident (§5.2, §4.2)."""
    incident = session.get(Incident, alert.incident_id)
    reporter = session.get(Staff, alert.staff_id) if alert.staff_id else None
    assert incident is not None and reporter is not None
    email = emails.incident_reported(incident, reporter=reporter.name, base_url=settings.public_url)
    recipients = manager_and_dsls(session, school, reporter)
    for person in recipients:
        send(session, f"alert:{alert.id}", alert.kind, person, email, school.id)
    return len(recipients)


def approvals(db: Database, settings: Settings, at: datetime) -> int:
    """A request waiting more than a day: its approver is reminded once."""
    sent = 0
    waited = at - timedelta(hours=settings.approval_wait_hours)
    with db.transaction() as session:
        waiting = session.exec(
            select(Contact).where(
                Contact.state == ContactState.requested,
                col(Contact.approval_chased_at).is_(None),
                Contact.requested_at <= waited,
            )
        ).all()
        for contact in waiting:
            if not stamp_once(session, col(Contact.approval_chased_at), contact.id, at):
                continue
            requester = session.get(Staff, contact.staff_id)
            school = session.get(School, contact.school_id)
            assert requester is not None and school is not None
            manager = (
                session.get(Staff, requester.line_manager_id) if requester.line_manager_id else None
            )
            approvers = (
                [manager]
                if manager is not None and manager.is_active
                else [
                    s
                    for s in staff_with_role(session, school, Role.approver)
                    if s.is_headteacher and s.id != requester.id
                ]
            )
            email = emails.approval_waiting(
                contact, requester=requester.name, base_url=settings.public_url
            )
            for approver in approvers:
                send(
                    session,
                    f"approval:{contact.id}",
                    "approval_waiting",
                    approver,
                    email,
                    school.id,
                )
                sent += 1
    return sent


def housekeeping(db: Database, settings: Settings, at: datetime) -> int:
    """Sign-in counts whose window has passed and that block nothing are removed."""
    with db.transaction() as session:
        return throttle.prune(session, at=at, settings=settings)


Job = Callable[[Database, Settings, datetime], int]

# In the order `jobs run` runs them: what ends first, then what it makes someone send.
JOBS: dict[str, Job] = {
    "housekeeping": housekeeping,
    "end_sweep": end_sweep,
    "ending_soon": ending_soon,
    "deletion_reminders": deletion_reminders,
    "alerts": alerts,
    "approvals": approvals,
    "outbox": deliver_outbox,
}
