"""Subject access reminders: a week before a request falls due, and once when it is overdue,
the school's DSLs and the trust's data protection officer are told (ids and dates only)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from contacts.data_protection.subject_access.models import SubjectAccessRequest
from core.db import Database
from core.directory.models import Role
from core.outbox import enqueue
from core.settings import Settings
from scheduler import emails
from scheduler.recipients import send, staff_with_role
from scheduler.steps import schools_and_policies

# Told this many days before the deadline, and again the day after it passes.
WARN_DAYS = 7


def subject_access_reminders(db: Database, settings: Settings, at: datetime) -> int:
    """Emails queued; each occasion (a week to go, overdue) once per request and person."""
    queued = 0
    for school, policy in schools_and_policies(db, settings):
        today = policy.today(school, at)
        with db.transaction() as session:
            open_requests = session.exec(
                select(SubjectAccessRequest).where(
                    SubjectAccessRequest.school_id == school.id,
                    col(SubjectAccessRequest.completed_on).is_(None),
                    col(SubjectAccessRequest.due_on) <= today + timedelta(days=WARN_DAYS),
                )
            ).all()
            for request in open_requests:
                assert request.id is not None
                stage = "overdue" if today > request.due_on else "due_soon"
                # A new deadline (an extension) is a new occasion to be told about.
                key = f"subject_access:{request.id}:{request.due_on}:{stage}"
                email = emails.subject_access_due(
                    request_id=request.id,
                    received_on=request.received_on,
                    due_on=request.due_on,
                    today=today,
                    base_url=settings.public_url,
                )
                for dsl in staff_with_role(session, school, Role.dsl):
                    queued += send(session, key, "subject_access", dsl, email, school.id, at=at)
                if policy.dpo_email:
                    made = enqueue(
                        session,
                        dedupe_key=f"{key}:to:dpo",
                        kind="subject_access",
                        to_address=policy.dpo_email,
                        subject=email.subject,
                        body=email.body,
                        school_id=school.id,
                        at=at,
                    )
                    queued += made is not None
    return queued
