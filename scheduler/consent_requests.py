"""Consent requests by the scheduler: where the trust's policy says so, the parents of every
under-age pupil on an approved contact are asked by themselves; an unanswered request is
reminded on the days the policy names (3 and 7 after sending, by default), each reminder with
a fresh link; once its link expires unanswered, it shows as "no answer" (consent.requests)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlmodel import Session, col, select

from consent import requests
from consent.models import ConsentRequest
from contacts.consenting import CONTACTS
from contacts.models import Contact, ContactState
from core.db import Database
from core.directory.models import School
from core.policy import Policy, policy_for
from core.settings import Settings
from scheduler.steps import SCHEDULER, each_in_turn, schools_and_policies


def consent_reminders(db: Database, settings: Settings, at: datetime) -> int:
    """Requests sent by the trust's policy, then reminders; in steps of their own, each
    request claimed so that it is sent once."""
    sent = _ask_by_policy(db, settings, at)
    waiting = select(col(ConsentRequest.id)).where(*requests.waiting(at))
    return sent + each_in_turn(
        db, waiting, col(ConsentRequest.id), lambda session, rid: _chase(session, rid, settings, at)
    )


def _chase(session: Session, request_id: int, settings: Settings, at: datetime) -> int:
    request = session.get(ConsentRequest, request_id)
    school = session.get(School, request.school_id) if request else None
    if school is None:
        return 0
    return int(
        requests.chase(
            session=session,
            policy=policy_for(session, school.trust_id, settings),
            at=at,
            contacts=CONTACTS,
            request_id=request_id,
            base_url=settings.public_url,
        )
    )


def _ask_by_policy(db: Database, settings: Settings, at: datetime) -> int:
    """Where a trust asks parents online by itself: every approved contact still running, a
    step of contacts at a time (each contact's row is held while its parents are asked)."""
    asked = 0
    for school, policy in schools_and_policies(db, settings):
        if not policy.consent_requests_automatic:
            continue
        running = select(col(Contact.id)).where(
            Contact.school_id == school.id,
            Contact.state == ContactState.approved,
            col(Contact.ends_on) >= policy.today(school, at),
        )

        ask = partial(_ask, policy=policy, settings=settings, at=at)
        asked += each_in_turn(db, running, col(Contact.id), ask)
    return asked


def _ask(
    session: Session, contact_id: int, *, policy: Policy, settings: Settings, at: datetime
) -> int:
    made = requests.send_requests(
        session=session,
        actor=SCHEDULER,
        policy=policy,
        at=at,
        contacts=CONTACTS,
        contact_id=contact_id,
        base_url=settings.public_url,
        by_policy=True,
    )
    return len(made)
