"""Outbox delivery over SMTP: due emails claimed, sent in one connection, retried with back-off."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from core.db import Database
from core.directory.models import Role, School
from core.outbox import OutboxEmail, OutboxState, claim
from core.settings import Settings
from scheduler import emails
from scheduler.mailer import MailerUnavailable, SmtpMailer
from scheduler.recipients import send, staff_with_role

log = logging.getLogger("contactlog.scheduler")


def _retry_delay(attempts: int, settings: Settings) -> timedelta:
    ceiling = min(
        settings.outbox_retry_base_seconds * 2 ** (attempts - 1), settings.outbox_retry_max_seconds
    )
    # Jitter spreads retries, so a mail server coming back is not hit by every row at once.
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311


def deliver_outbox(db: Database, settings: Settings, at: datetime) -> int:
    """Send due emails over SMTP; failures back off, and after the give-up time the admins hear."""
    if not settings.smtp_host:
        return 0  # no mail server configured: the emails wait in the outbox
    with db.transaction() as session:
        batch = claim(
            session,
            at=at,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            limit=settings.outbox_batch_size,
        )
    if not batch:
        return 0
    outcomes: dict[int, str | None] = {}
    try:
        with SmtpMailer(settings) as mailer:
            for email in batch:
                try:
                    mailer.send(email)
                    outcomes[email.id or 0] = None
                except MailerUnavailable:
                    raise
                except Exception as exc:  # this email only: a refused recipient, say
                    outcomes[email.id or 0] = f"{type(exc).__name__}: {exc}"[:500]
    except MailerUnavailable as exc:
        for email in batch:
            outcomes.setdefault(email.id or 0, str(exc))
    except OSError as exc:  # the connection dropped mid-batch: the rest wait for a retry
        for email in batch:
            outcomes.setdefault(email.id or 0, f"{type(exc).__name__}: {exc}"[:500])
    sent = [email_id for email_id, error in outcomes.items() if error is None]
    failed = {email_id: error for email_id, error in outcomes.items() if error is not None}
    delivered = len(sent)
    with db.transaction() as session:
        if sent:  # the usual case, in one statement however big the batch
            session.execute(
                update(OutboxEmail)
                .where(col(OutboxEmail.id).in_(sent))
                .values(state=OutboxState.sent, sent_at=at, lease_until=None)
            )
        for email_id, error in failed.items():
            row = session.get(OutboxEmail, email_id)
            assert row is not None
            _failed_attempt(session, row, error, at, settings)
            session.add(row)
    log.info("outbox: %s delivered, %s to retry", delivered, len(outcomes) - delivered)
    return delivered


def _failed_attempt(
    session: Session, email: OutboxEmail, error: str, at: datetime, settings: Settings
) -> None:
    email.attempts += 1
    email.last_error = error
    email.lease_until = None
    if at - email.created_at < timedelta(hours=settings.outbox_give_up_hours):
        email.state = OutboxState.pending
        email.next_attempt_at = at + _retry_delay(email.attempts, settings)
        return
    email.state = OutboxState.failed
    if email.kind == "delivery_failed":
        return  # never a chain of failure notices about failure notices
    school = session.get(School, email.school_id) if email.school_id else None
    admins = staff_with_role(session, school, Role.admin) if school else []
    notice = emails.delivery_failed(
        email_id=email.id or 0, kind=email.kind, hours=settings.outbox_give_up_hours
    )
    for admin in admins:
        send(session, f"failed:{email.id}", "delivery_failed", admin, notice, email.school_id)
