"""Subject access reminders: a week before a request falls due, and once when it is overdue,
the school's DSLs and the trust's data protection officer are told (ids and dates only)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from contacts.data_protection.subject_access.models import SubjectAccessRequest
from core.db import Database
from core.directory.models import Role, School
from core.outbox import enqueue
from core.settings import Settings
from scheduler import emails
from scheduler.recipients import send, staff_with_role
from scheduler.steps import each_in_turn, schools_and_policies

# Told this many days before the deadline, and again the day after it passes.
WARN_DAYS = 7


def subject_access_reminders(db: Database, settings: Settings, at: datetime) -> int:
    """Emails queued, a step of requests at a time; each occasion (a week to go, overdue) once
    per request and person, by its outbox key."""
    queued = 0
    for school, policy in schools_and_policies(db, settings):
        today = policy.today(school, at)
        open_requests = select(col(SubjectAccessRequest.id)).where(
            SubjectAccessRequest.school_id == school.id,
            col(SubjectAccessRequest.completed_on).is_(None),
            col(SubjectAccessRequest.due_on) <= today + timedelta(days=WARN_DAYS),
        )
        tell = partial(
            _tell, school=school, today=today, dpo=policy.dpo_email, settings=settings, at=at
        )
        queued += each_in_turn(db, open_requests, col(SubjectAccessRequest.id), tell)
    return queued


def _tell(
    session: Session,
    request_id: int,
    *,
    school: School,
    today: date,
    dpo: str | None,
    settings: Settings,
    at: datetime,
) -> int:
    request = session.get(SubjectAccessRequest, request_id)
    if request is None:
        return 0
    stage = "overdue" if today > request.due_on else "due_soon"
    # A new deadline (an extension) is a new occasion to be told about.
    key = f"subject_access:{request_id}:{request.due_on}:{stage}"
    email = emails.subject_access_due(
        request_id=request_id,
        received_on=request.received_on,
        due_on=request.due_on,
        today=today,
        base_url=settings.public_url,
    )
    queued = 0
    for dsl in staff_with_role(session, school, Role.dsl):
        queued += send(session, key, "subject_access", dsl, email, school.id, at=at)
    if dpo:
        made = enqueue(
            session,
            dedupe_key=f"{key}:to:dpo",
            kind="subject_access",
            to_address=dpo,
            subject=email.subject,
            body=email.body,
            school_id=school.id,
            at=at,
        )
        queued += made is not None
    return queued
