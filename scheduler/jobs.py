"""The scheduled jobs. Each reads the database, claims its rows with a conditional update, and
queues email in the same transaction, so a job run twice, or by two schedulers, sends once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
from scheduler.checkpointing import sign_and_send
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


def _due_ids(session: Session, query: Any) -> list[int]:
    """The ids of up to STEP due rows; on PostgreSQL, rows another scheduler holds are skipped."""
    return list(session.exec(query.limit(STEP).with_for_update(skip_locked=True)).all())


# ---------------------------------------------------------------- the jobs


def end_sweep(db: Database, settings: Settings, at: datetime) -> int:
    """Contacts past their end date end, through the same function as a manual end."""

    def step(session: Session) -> int | None:
        ended = end_contacts_past_their_end_date(
            session=session, actor=SCHEDULER, at=at, limit=STEP
        )
        return ended or None  # none left (or, rarely, a step of contacts another ended first)

    return in_steps(db, step)


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
    """The prompt when a contact ends, a reminder every R days, and escalation after E days.
    Contacts are taken a step at a time, so each contact's due tasks share one email."""

    def step(session: Session) -> int | None:
        # The tasks are locked (as confirming a deletion locks them, before its contact), and a
        # contact's other due tasks join its one email.
        contacts = _due_ids(
            session,
            select(DeletionTask.contact_id)
            .where(
                col(DeletionTask.confirmed_at).is_(None), col(DeletionTask.next_reminder_at) <= at
            )
            .order_by(col(DeletionTask.id)),
        )
        if not contacts:
            return None
        return sum(_remind(session, cid, settings, at) for cid in dict.fromkeys(contacts))

    return in_steps(db, step) + _escalate(db, settings, at)


def _remind(session: Session, contact_id: int, settings: Settings, at: datetime) -> int:
    due = session.exec(
        select(DeletionTask).where(
            DeletionTask.contact_id == contact_id,
            col(DeletionTask.confirmed_at).is_(None),
            col(DeletionTask.next_reminder_at) <= at,
        )
    ).all()
    tasks: list[DeletionTask] = []
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
            tasks.append(task)
    if not tasks:
        return 0
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
        escalate_on=school_date(first.created_at + timedelta(days=escalate), school_zone(school)),
        base_url=settings.public_url,
    )
    key = f"deletion:{min(t.id or 0 for t in tasks)}:{number[tasks[0].id or 0]}"
    send(session, key, "deletion_reminder", owner, email, school.id, contact_id)
    return 1


def _escalate(db: Database, settings: Settings, at: datetime) -> int:
    """Tasks open longer than the trust's escalation interval: the line manager and DSLs hear,
    once per contact, a step of contacts at a time, school by school."""
    with db.session(read_only=True) as session:
        schools = [
            (s.id, intervals(session, s, settings).escalate_after_days)
            for s in session.exec(select(School)).all()
        ]
    sent = 0
    for school_id, days in schools:

        def step(
            session: Session, school_id: int | None = school_id, days: int = days
        ) -> int | None:
            overdue = select(DeletionTask.contact_id).where(
                DeletionTask.school_id == school_id,
                col(DeletionTask.confirmed_at).is_(None),
                col(DeletionTask.escalated_at).is_(None),
                col(DeletionTask.created_at) <= at - timedelta(days=days),
            )
            contacts = _due_ids(
                session,
                select(Contact.id).where(col(Contact.id).in_(overdue)).order_by(col(Contact.id)),
            )
            if not contacts:
                return None
            return sum(
                _escalate_contact(session, contact_id, days, settings, at)
                for contact_id in contacts
            )

        sent += in_steps(db, step)
    return sent


def _escalate_contact(
    session: Session, contact_id: int, days: int, settings: Settings, at: datetime
) -> int:
    open_tasks = session.exec(
        select(DeletionTask).where(
            DeletionTask.contact_id == contact_id,
            col(DeletionTask.confirmed_at).is_(None),
            col(DeletionTask.escalated_at).is_(None),
            col(DeletionTask.created_at) <= at - timedelta(days=days),
        )
    ).all()
    tasks = [t for t in open_tasks if stamp_once(session, col(DeletionTask.escalated_at), t.id, at)]
    if not tasks:
        return 0
    contact = session.get(Contact, contact_id)
    owner = session.get(Staff, tasks[0].staff_id)
    school = session.get(School, tasks[0].school_id)
    assert contact is not None and owner is not None and school is not None
    email = emails.deletion_overdue(
        contact, staff_name=owner.name, days=days, base_url=settings.public_url
    )
    key = f"escalation:{min(t.id or 0 for t in tasks)}"
    people = manager_and_dsls(session, school, owner)
    for person in people:
        send(session, key, "deletion_escalation", person, email, school.id, contact_id)
    return len(people)


def alerts(db: Database, settings: Settings, at: datetime) -> int:
    """DSLs hear of each flagged message; staff, when a consent on their contact is withdrawn."""

    def step(session: Session) -> int | None:
        pending = _due_ids(
            session,
            select(Alert.id).where(col(Alert.emailed_at).is_(None)).order_by(col(Alert.id)),
        )
        if not pending:
            return None
        return sum(_alert(session, alert_id, settings, at) for alert_id in pending)

    return in_steps(db, step)


def _alert(session: Session, alert_id: int, settings: Settings, at: datetime) -> int:
    if not stamp_once(session, col(Alert.emailed_at), alert_id, at):
        return 0
    alert = session.get(Alert, alert_id)
    assert alert is not None
    school = session.get(School, alert.school_id)
    assert school is not None
    if alert.kind == AlertKind.incident_reported and alert.incident_id is not None:
        return _incident_alert(session, alert, school, settings)
    contact = session.get(Contact, alert.contact_id) if alert.contact_id else None
    assert contact is not None
    sent = 0
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
            send(session, f"alert:{alert.id}", alert.kind, dsl, email, school.id, contact.id)
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
    "checkpoint": sign_and_send,
    "end_sweep": end_sweep,
    "ending_soon": ending_soon,
    "deletion_reminders": deletion_reminders,
    "alerts": alerts,
    "approvals": approvals,
    "outbox": deliver_outbox,
}
