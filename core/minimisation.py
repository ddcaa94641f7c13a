"""Minimisation (SPEC §7): data that is evidence of nothing — used or expired password links,
stored replies for retried requests, the bodies of emails long sent — removed after its days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.directory.models import School, Staff
from core.identity.models import AccountLink
from core.models import IdempotencyKey, OutboxEmail, OutboxState
from core.policy import Policy

GONE = "[removed after its retention period]"
# Bulk statements: no objects in the session to bring up to date.
QUIET: dict[str, Any] = {"execution_options": {"synchronize_session": False}}


@dataclass(frozen=True)
class Forgetting:
    """What one trust's minimisation removes at `at`: a statement per kind of data."""

    links: Any
    replies: Any
    bodies: Any


def _forgetting(policy: Policy, at: datetime) -> Forgetting:
    schools = select(col(School.id)).where(School.trust_id == policy.trust_id)
    staff = select(col(Staff.id)).where(col(Staff.school_id).in_(schools))
    short = at - timedelta(days=policy.sign_in_days)
    sent = at - timedelta(days=policy.outbox_days)
    links = col(AccountLink.staff_id).in_(staff) & (col(AccountLink.created_at) < short)
    replies = col(IdempotencyKey.staff_id).in_(staff) & (col(IdempotencyKey.created_at) < short)
    bodies = (
        (col(OutboxEmail.school_id).in_(schools) | col(OutboxEmail.to_staff_id).in_(staff))
        & col(OutboxEmail.state).in_([OutboxState.sent, OutboxState.failed])
        & (sa.func.coalesce(col(OutboxEmail.sent_at), col(OutboxEmail.created_at)) < sent)
        & (col(OutboxEmail.body) != GONE)
    )
    return Forgetting(links, replies, bodies)


def _count(session: Session, model: Any, where: Any) -> int:
    return int(session.exec(select(sa.func.count()).select_from(model).where(where)).one())


def to_forget(*, session: Session, policy: Policy, at: datetime) -> dict[str, int]:
    """How many of each a run would remove (a dry run)."""
    where = _forgetting(policy, at)
    return {
        "account_links": _count(session, AccountLink, where.links),
        "retry_replies": _count(session, IdempotencyKey, where.replies),
        "outbox_bodies": _count(session, OutboxEmail, where.bodies),
    }


def forget(*, session: Session, policy: Policy, at: datetime) -> dict[str, int]:
    """Remove them; the outbox keeps each email's row (to whom, when, delivered) without its
    body, which is what reminders and escalations are shown to have happened by."""
    where = _forgetting(policy, at)
    done = {
        "account_links": session.execute(sa.delete(AccountLink).where(where.links), **QUIET),
        "retry_replies": session.execute(sa.delete(IdempotencyKey).where(where.replies), **QUIET),
        "outbox_bodies": session.execute(
            sa.update(OutboxEmail).where(where.bodies).values(body=GONE), **QUIET
        ),
    }
    return {name: int(result.rowcount) for name, result in done.items()}  # type: ignore[attr-defined]
