"""Deleting the contact method (§5.6): the prompt when a contact ends, a reminder every R days
until the deletion is confirmed, and escalation to the line manager and DSLs after E days."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col

from contacts import repository
from contacts.models import Contact, DeletionTask
from core.db import Database
from core.directory.models import School, Staff
from core.once import stamp_once, took
from core.policy import policy_for
from core.settings import Settings
from scheduler import emails
from scheduler.recipients import manager_and_dsls, send
from scheduler.steps import each_due, schools_and_policies


def _pupils_to_name(
    session: Session, contact: Contact, tasks: list[DeletionTask]
) -> list[str] | None:
    """Name pupils only when part of the contact ended: then the holder must know whom to remove."""
    assert contact.id is not None
    if len(tasks) >= len(repository.pupils_on(session, contact.id)):
        return None
    pupils = repository.pupils_by_id(session, [t.pupil_id for t in tasks])
    return [f"{p.given_name} {p.family_name[:1]}. ({p.school_reference})" for p in pupils]


def _about(session: Session, task: DeletionTask) -> tuple[Contact, Staff, School]:
    """The contact a task belongs to, who holds it, and their school."""
    contact = session.get(Contact, task.contact_id)
    owner = session.get(Staff, task.staff_id)
    school = session.get(School, task.school_id)
    assert contact is not None
    assert owner is not None
    assert school is not None
    return contact, owner, school


def deletion_reminders(db: Database, settings: Settings, at: datetime) -> int:
    """The prompt when a contact ends, a reminder every R days, and escalation after E days.
    Contacts are taken a step at a time, so each contact's due tasks share one email."""

    # The tasks are locked (as confirming a deletion locks them, before its contact), and a
    # contact's other due tasks join its one email.
    due = repository.contacts_with_reminders_due(at)
    reminded = each_due(db, due, lambda session, cid: _remind(session, cid, settings, at))
    return reminded + _escalate(db, settings, at)


def _remind(session: Session, contact_id: int, settings: Settings, at: datetime) -> int:
    due = repository.reminders_due(session, contact_id, at)
    tasks: list[DeletionTask] = []
    number: dict[int, int] = {}  # which reminder this is, counted before the claim bumps it
    for task in due:
        school = session.get(School, task.school_id)
        assert school is not None
        assert task.id is not None
        every = policy_for(session, school.trust_id, settings).reminder_every_days
        number[task.id] = task.reminders_sent + 1
        if took(
            session,
            DeletionTask,
            task.id,
            still=(col(DeletionTask.reminders_sent) == task.reminders_sent)
            & col(DeletionTask.confirmed_at).is_(None),
            values={
                "reminders_sent": task.reminders_sent + 1,
                "next_reminder_at": at + timedelta(days=every),
            },
        ):
            tasks.append(task)
    if not tasks:
        return 0
    contact, owner, school = _about(session, tasks[0])
    policy = policy_for(session, school.trust_id, settings)
    escalate = policy.escalate_after_days
    first = min(tasks, key=lambda t: t.created_at)
    email = emails.delete_contact_method(
        contact,
        pupils=_pupils_to_name(session, contact, tasks),
        reminder=number[tasks[0].id or 0],
        escalate_on=policy.today(school, first.created_at + timedelta(days=escalate)),
        base_url=settings.public_url,
    )
    key = f"deletion:{min(t.id or 0 for t in tasks)}:{number[tasks[0].id or 0]}"
    send(session, key, "deletion_reminder", owner, email, school.id, contact_id, at=at)
    return 1


def _escalate(db: Database, settings: Settings, at: datetime) -> int:
    """Tasks open longer than the trust's escalation interval: the line manager and DSLs hear,
    once per contact, a step of contacts at a time, school by school."""
    sent = 0
    for school, policy in schools_and_policies(db, settings):
        school_id, days = school.id, policy.escalate_after_days
        # Tasks are locked, not contacts: the same order as confirming a deletion, which locks
        # its tasks before it closes the contact.
        assert school_id is not None
        overdue = repository.contacts_with_overdue_deletions(school_id, at - timedelta(days=days))
        sent += each_due(
            db, overdue, partial(_escalate_contact, days=days, settings=settings, at=at)
        )
    return sent


def _escalate_contact(
    session: Session, contact_id: int, *, days: int, settings: Settings, at: datetime
) -> int:
    open_tasks = repository.overdue_deletions(session, contact_id, at - timedelta(days=days))
    tasks = [t for t in open_tasks if stamp_once(session, col(DeletionTask.escalated_at), t.id, at)]
    if not tasks:
        return 0
    contact, owner, school = _about(session, tasks[0])
    email = emails.deletion_overdue(
        contact, staff_name=owner.name, days=days, base_url=settings.public_url
    )
    key = f"escalation:{min(t.id or 0 for t in tasks)}"
    people = manager_and_dsls(session, school, owner)
    for person in people:
        send(session, key, "deletion_escalation", person, email, school.id, contact_id, at=at)
    return len(people)
