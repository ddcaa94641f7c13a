"""The scheduled jobs. Each reads the database, claims its rows with a conditional update, and
queues email in the same transaction, so a job run twice, or by two schedulers, sends once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col

from contacts import repository
from contacts.incidents.models import Incident
from contacts.models import (
    Alert,
    AlertKind,
    Contact,
    ContactState,
    Message,
)
from contacts.sweeps import end_contacts_past_their_end_date, end_for_leavers
from core.db import Database
from core.directory.models import Role, School, Staff
from core.identity import device_grant, devices, passkeys, sso, throttle
from core.once import stamp_once
from core.policy import policy_for
from core.settings import Settings
from scheduler import emails
from scheduler.captures import captures
from scheduler.checkpointing import log_and_sign, send_checkpoints
from scheduler.concerns import concerns
from scheduler.consent_requests import consent_reminders
from scheduler.deletions import deletion_reminders
from scheduler.delivery import deliver_outbox
from scheduler.full_check import check_chain
from scheduler.recipients import manager_and_dsls, send, staff_with_role
from scheduler.retention import retention
from scheduler.steps import SCHEDULER, STEP, each_due, in_steps, schools_and_policies
from scheduler.subject_access import subject_access_reminders
from scheduler.witnessing import cosign

log = logging.getLogger("contactlog.scheduler")


def end_sweep(db: Database, settings: Settings, at: datetime) -> int:
    """Contacts past their end date end, and so does a leaver's part of every contact, through
    the same function as a manual end."""

    def step(session: Session) -> int | None:
        ended = end_contacts_past_their_end_date(
            session=session, actor=SCHEDULER, settings=settings, at=at, limit=STEP
        )
        return ended or None  # none left (or, rarely, a step of contacts another ended first)

    def leavers(session: Session) -> int | None:
        ended = end_for_leavers(
            session=session, actor=SCHEDULER, settings=settings, at=at, limit=STEP
        )
        return ended or None

    return in_steps(db, step) + in_steps(db, leavers)


def ending_soon(db: Database, settings: Settings, at: datetime) -> int:
    """The staff member hears ENDING_NOTICE_DAYS before a contact ends: school by school, a
    step of contacts at a time."""
    sent = 0
    for school, every in schools_and_policies(db, settings):
        today = every.today(school, at)
        assert school.id is not None
        last_day = today + timedelta(days=every.ending_notice_days)
        due = repository.contacts_ending_soon(school.id, today, last_day)
        sent += each_due(db, due, lambda session, cid: _ending_notice(session, cid, settings, at))
    return sent


def _ending_notice(session: Session, contact_id: int, settings: Settings, at: datetime) -> int:
    if not stamp_once(session, col(Contact.ending_notice_at), contact_id, at):
        return 0
    contact = session.get(Contact, contact_id)
    assert contact is not None
    owner = session.get(Staff, contact.staff_id)
    assert owner is not None
    email = emails.ending_soon(contact, base_url=settings.public_url)
    send(
        session,
        f"ending-soon:{contact.id}",
        "ending_soon",
        owner,
        email,
        contact.school_id,
        contact.id,
        at=at,
    )
    return 1


def alerts(db: Database, settings: Settings, at: datetime) -> int:
    """The decider hears of each request as it is made, the DSLs of each flagged message and
    incident, staff when a consent on their contact is withdrawn."""
    return each_due(
        db, repository.alerts_not_emailed(), lambda session, aid: _alert(session, aid, settings, at)
    )


def _alert(session: Session, alert_id: int, settings: Settings, at: datetime) -> int:
    if not stamp_once(session, col(Alert.emailed_at), alert_id, at):
        return 0
    alert = session.get(Alert, alert_id)
    assert alert is not None
    school = session.get(School, alert.school_id)
    assert school is not None
    if alert.kind == AlertKind.incident_reported and alert.incident_id is not None:
        return _incident_alert(session, alert, school, settings, at)
    contact = session.get(Contact, alert.contact_id) if alert.contact_id else None
    assert contact is not None
    if alert.kind == AlertKind.approval_requested:
        return _ask_approvers(session, contact, school, settings, at, reminder=False)
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
            send(session, f"alert:{alert.id}", alert.kind, dsl, email, school.id, contact.id, at=at)
            sent += 1
    elif alert.kind == AlertKind.consent_withdrawn and alert.staff_id is not None:
        owner = session.get(Staff, alert.staff_id)
        assert owner is not None
        email = emails.consent_withdrawn(contact, base_url=settings.public_url)
        send(session, f"alert:{alert.id}", alert.kind, owner, email, school.id, contact.id, at=at)
        sent += 1
    return sent


def _incident_alert(
    session: Session, alert: Alert, school: School, settings: Settings, at: datetime
) -> int:
    """The reporter's line manager and the DSL hear of every incident (§5.2, §4.2)."""
    incident = session.get(Incident, alert.incident_id)
    reporter = session.get(Staff, alert.staff_id) if alert.staff_id else None
    assert incident is not None
    assert reporter is not None
    email = emails.incident_reported(
        incident,
        reporter=reporter.name,
        zone=policy_for(session, school.trust_id, settings).zone(school),
        base_url=settings.public_url,
    )
    recipients = manager_and_dsls(session, school, reporter)
    for person in recipients:
        send(session, f"alert:{alert.id}", alert.kind, person, email, school.id, at=at)
    return len(recipients)


def approvals(db: Database, settings: Settings, at: datetime) -> int:
    """A request waiting longer than the trust's approval wait: its approver is reminded once."""
    sent = 0
    for school, policy in schools_and_policies(db, settings):
        assert school.id is not None
        since = at - timedelta(hours=policy.approval_wait_hours)
        waiting = repository.requests_waiting_since(school.id, since)
        sent += each_due(db, waiting, lambda session, cid: _chase(session, cid, settings, at))
    return sent


def _chase(session: Session, contact_id: int, settings: Settings, at: datetime) -> int:
    if not stamp_once(session, col(Contact.approval_chased_at), contact_id, at):
        return 0
    contact = session.get(Contact, contact_id)
    assert contact is not None
    school = session.get(School, contact.school_id)
    assert school is not None
    return _ask_approvers(session, contact, school, settings, at, reminder=True)


def _ask_approvers(
    session: Session,
    contact: Contact,
    school: School,
    settings: Settings,
    at: datetime,
    *,
    reminder: bool,
) -> int:
    """The requester's line manager (or, without one, the headteachers) is asked to decide:
    as the request is made, and reminded once if it still waits. Nothing once it is decided."""
    if contact.state != ContactState.requested:
        return 0
    requester = session.get(Staff, contact.staff_id)
    assert requester is not None
    manager = session.get(Staff, requester.line_manager_id) if requester.line_manager_id else None
    approvers = (
        [manager]
        if manager is not None and manager.is_active
        else [
            s
            for s in staff_with_role(session, school, Role.approver)
            if s.is_headteacher and s.id != requester.id
        ]
    )
    made = emails.approval_waiting if reminder else emails.approval_requested
    email = made(contact, requester=requester.name, base_url=settings.public_url)
    kind, key = ("approval_waiting", "approval") if reminder else ("approval_requested", "asked")
    for approver in approvers:
        send(session, f"{key}:{contact.id}", kind, approver, email, school.id, at=at)
    return len(approvers)


def housekeeping(db: Database, settings: Settings, at: datetime) -> int:
    """Sign-in counts whose window has passed and that block nothing are removed, and trusted
    devices past their time, the staff client's old sign-ins through the browser, unused
    passkey challenges and single sign-ons never finished are forgotten."""
    with db.transaction() as session:
        return (
            throttle.prune(session, at=at, settings=settings)
            + devices.prune(session, at=at)
            + device_grant.prune(session, at=at)
            + passkeys.prune(session, at=at)
            + sso.prune(session, at=at)
        )


Job = Callable[[Database, Settings, datetime], int]

# In the order `jobs run` runs them: what ends first, then what it makes someone send.
JOBS: dict[str, Job] = {
    "housekeeping": housekeeping,
    "chain_check": check_chain,
    "log": log_and_sign,
    "witness": cosign,
    "checkpoint": send_checkpoints,
    "end_sweep": end_sweep,
    "ending_soon": ending_soon,
    "deletion_reminders": deletion_reminders,
    "captures": captures,
    "concerns": concerns,
    "alerts": alerts,
    "approvals": approvals,
    "subject_access": subject_access_reminders,
    "consent_requests": consent_reminders,
    "retention": retention,
    "outbox": deliver_outbox,
}
