"""Consent requests by the scheduler: where the trust's policy says so, the parents of every
under-age pupil on an approved contact are asked by themselves; an unanswered request is
reminded on the days the policy names (3 and 7 after sending, by default), each reminder with
a fresh link; once its link expires unanswered, it shows as "no answer" (consent.requests)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from consent import requests
from consent.models import ConsentRequest
from contacts.consenting import CONTACTS
from contacts.models import Contact, ContactState
from core.db import Database
from core.directory.models import School
from core.policy import policy_for
from core.settings import Settings
from scheduler.steps import SCHEDULER, schools_and_policies


def consent_reminders(db: Database, settings: Settings, at: datetime) -> int:
    """Requests sent by the trust's policy, then reminders; each in its own transaction,
    claimed so that it is sent once."""
    sent = _ask_by_policy(db, settings, at)
    with db.session(for_reading=True) as session:
        waiting = requests.due_for_chasing(session, at)
    for request_id in waiting:
        with db.transaction() as session:
            request = session.get(ConsentRequest, request_id)
            school = session.get(School, request.school_id) if request else None
            if school is None:
                continue
            policy = policy_for(session, school.trust_id, settings)
            sent += requests.chase(
                session=session,
                policy=policy,
                at=at,
                contacts=CONTACTS,
                request_id=request_id,
                base_url=settings.public_url,
            )
    return sent


def _ask_by_policy(db: Database, settings: Settings, at: datetime) -> int:
    """Where a trust asks parents online by itself: every approved contact still running."""
    asked = 0
    for school, policy in schools_and_policies(db, settings):
        if not policy.consent_requests_automatic:
            continue
        today = policy.today(school, at)
        with db.session(for_reading=True) as session:
            running = session.exec(
                select(col(Contact.id)).where(
                    Contact.school_id == school.id,
                    Contact.state == ContactState.approved,
                    col(Contact.ends_on) >= today,
                )
            ).all()
        for contact_id in running:
            assert contact_id is not None
            with db.transaction() as session:
                asked += len(
                    requests.send_requests(
                        session=session,
                        actor=SCHEDULER,
                        policy=policy,
                        at=at,
                        contacts=CONTACTS,
                        contact_id=contact_id,
                        base_url=settings.public_url,
                        by_policy=True,
                    )
                )
    return asked
