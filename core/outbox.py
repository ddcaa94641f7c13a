"""The email outbox: rows written with the change that caused them, delivered later, never twice."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from core.directory.access import require_role, visible_school
from core.directory.models import Role, School
from core.models import OutboxEmail, OutboxState
from core.pagination import Page, fetch_page
from core.principal import Principal

log = logging.getLogger("contactlog.outbox")


class OutboxEmailPublic(SQLModel):
    id: int
    kind: str
    school_id: int | None
    to_staff_id: int | None
    to_address: str
    subject: str
    state: OutboxState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


# The paths of the one-time links emails carry, each followed by its secret (registered by the
# modules that mail them: account links here in core, consent links in consent/).
ONE_TIME_PATHS: set[str] = set()
SPENT = "(link-removed-once-sent)"


def one_time_links_at(path: str) -> None:
    ONE_TIME_PATHS.add(path)


def spent(body: str) -> str:
    """The body as kept once its email is out of the outbox's hands: every one-time link's
    secret replaced, so a copy of the database cannot give a parent's consent or take over an
    invitation (the links' hashes exist to prevent exactly that). Nothing else is touched: a
    checkpoint's signature and key stay as they were sent."""
    for path in ONE_TIME_PATHS:
        body = re.sub(re.escape(path) + r"[A-Za-z0-9_-]+", path + SPENT, body)
    return body


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    to_address: str,
    subject: str,
    body: str,
    school_id: int | None = None,
    to_staff_id: int | None = None,
    contact_id: int | None = None,
    at: datetime,
) -> OutboxEmail | None:
    """Queue one email in the caller's transaction; None if this occasion was queued already."""
    email = OutboxEmail(
        dedupe_key=dedupe_key,
        kind=kind,
        school_id=school_id,
        to_staff_id=to_staff_id,
        contact_id=contact_id,
        to_address=to_address,
        subject=subject,
        body=body,
        created_at=at,
        next_attempt_at=at,
    )
    try:
        with session.begin_nested():
            session.add(email)
    except IntegrityError:
        return None
    # Ids and kinds only: addresses and bodies may carry personal data.
    log.info("queued email %s (%s)", email.id, kind)
    return email


def list_emails(
    *,
    session: Session,
    actor: Principal,
    state: OutboxState | None,
    cursor: str | None,
    limit: int,
    newest_first: bool = False,
) -> Page[OutboxEmail]:
    """What was queued, for a school's admin (their school) or a trust admin (their trust's
    schools, and emails to no school)."""
    school = visible_school(session, actor, actor.school_id or 0)
    require_role(actor, school, Role.admin, action="read the outbox")
    query = select(OutboxEmail)
    if actor.has(Role.trust_admin):
        schools = select(School.id).where(School.trust_id == school.trust_id)
        query = query.where(
            col(OutboxEmail.school_id).in_(schools) | col(OutboxEmail.school_id).is_(None)
        )
    else:
        query = query.where(OutboxEmail.school_id == school.id)
    if state is not None:
        query = query.where(OutboxEmail.state == state)
    return fetch_page(
        session, query, col(OutboxEmail.id), cursor=cursor, limit=limit, newest_first=newest_first
    )


def _due(at: datetime) -> Any:
    return (col(OutboxEmail.state) == OutboxState.pending) & (
        col(OutboxEmail.next_attempt_at) <= at
    )


def abandoned(session: Session, *, real_now: datetime, limit: int) -> list[OutboxEmail]:
    """Emails whose sender's lease ran out (on the real clock): it died holding them."""
    return list(
        session.exec(
            select(OutboxEmail)
            .where(
                col(OutboxEmail.state) == OutboxState.sending,
                col(OutboxEmail.lease_until) < real_now,
            )
            .order_by(col(OutboxEmail.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )


def claim(
    session: Session,
    *,
    at: datetime,
    real_now: datetime,
    lease: timedelta,
    limit: int,
) -> list[OutboxEmail]:
    """Take up to `limit` pending emails whose time (as of `at`) has come, for one sender.

    Leases are on the real clock (`real_now`, read by the sender) even when a job runs "as of"
    another instant, so a time-travel run never leaves rows that real-time schedulers skip. On
    PostgreSQL rows another sender is claiming are skipped, not waited for.
    """
    claim_id = uuid.uuid4().hex
    due = (
        select(OutboxEmail.id)
        .where(_due(at))
        .order_by(col(OutboxEmail.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        update(OutboxEmail)
        .where(col(OutboxEmail.id).in_(due.scalar_subquery()), _due(at))
        .values(
            state=OutboxState.sending,
            lease_until=real_now + lease,
            claim_id=claim_id,
        )
        .execution_options(synchronize_session=False)
    )
    return list(
        session.exec(
            select(OutboxEmail)
            .where(OutboxEmail.claim_id == claim_id)
            .order_by(col(OutboxEmail.id))
            .execution_options(populate_existing=True)
        ).all()
    )


def still_held(email: OutboxEmail) -> Any:
    """The condition every update of a claimed row carries."""
    return (col(OutboxEmail.id) == email.id) & (col(OutboxEmail.claim_id) == email.claim_id)
