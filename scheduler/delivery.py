"""Outbox delivery over SMTP: due emails claimed, sent in one connection, retried with back-off."""

from __future__ import annotations

import logging
import random
import smtplib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from core.db import Database
from core.directory.models import Role, School
from core.models import OutboxEmail, OutboxState
from core.outbox import abandoned, claim, spent, still_held
from core.settings import Settings
from scheduler import emails
from scheduler.mailer import MailerUnavailable, SmtpMailer
from scheduler.recipients import send, staff_with_role

log = logging.getLogger("contactlog.scheduler")

# Leases are measured on the machine's own clock, not the job's `at`: a run at a given time
# (`jobs run --at`, a test's day) still holds an email for real seconds while it is sent. A
# test passes a clock of its own to see a lease run out without waiting for it.
LeaseClock = Callable[[], datetime]


def real_clock() -> datetime:
    return datetime.now(UTC)


def _retry_delay(attempts: int, settings: Settings) -> timedelta:
    ceiling = min(
        settings.outbox_retry_base_seconds * 2 ** (attempts - 1), settings.outbox_retry_max_seconds
    )
    # Jitter spreads retries, so a mail server coming back is not hit by every row at once.
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311


def lease_for(settings: Settings) -> timedelta:
    """Long enough for the worst a sender holding a claim may take before it next renews it:
    a third of the lease may pass between renewals, then connecting and one email, each up to
    the SMTP timeout (the lease is at least three of those past that third)."""
    worst = 3 * settings.smtp_timeout_seconds + 5
    return timedelta(seconds=max(settings.outbox_lease_seconds, worst * 3 / 2))


def deliver_outbox(
    db: Database, settings: Settings, at: datetime, lease_clock: LeaseClock = real_clock
) -> int:
    """Send due emails over SMTP until none is left (or the time budget is spent): a backlog
    drains at the mail server's pace. Failures back off; after the give-up time the admins
    hear. Under kills and lost claims, only the email in flight can arrive twice."""
    if not settings.smtp_host:
        return 0  # no mail server configured: the emails wait in the outbox
    lease = lease_for(settings)
    _recover_abandoned(db, at, settings, lease_clock)
    delivered, until = 0, time.monotonic() + settings.outbox_drain_seconds
    while True:
        with db.transaction() as session:
            batch = claim(
                session,
                at=at,
                real_now=lease_clock(),
                lease=lease,
                limit=settings.outbox_batch_size,
            )
        if not batch:
            break
        sent, carry_on = _send(db, batch, settings, at, lease, lease_clock)
        delivered += sent
        if not carry_on or len(batch) < settings.outbox_batch_size or time.monotonic() > until:
            break
    return delivered


def _send(
    db: Database,
    batch: list[OutboxEmail],
    settings: Settings,
    at: datetime,
    lease: timedelta,
    lease_clock: LeaseClock,
) -> tuple[int, bool]:
    """One claimed batch over one connection; each email is marked sent the moment the mail
    server accepts it. The answer: how many went, and whether to go on with the next batch."""
    sent, waiting = 0, list(batch)
    renewed = lease_clock()
    try:
        with SmtpMailer(settings) as mailer:
            while waiting:
                email = waiting[0]
                try:
                    mailer.send(email)
                except (MailerUnavailable, smtplib.SMTPServerDisconnected, OSError):
                    raise
                except Exception as exc:  # this email only: a refused recipient, say
                    waiting.pop(0)
                    _record_failures(db, [email], f"{type(exc).__name__}: {exc}", at, settings)
                    continue
                waiting.pop(0)
                # The rest of the batch keeps its lease only once a third of it has gone: a
                # renewal rewrites every row still held, so one per email made a batch cost
                # its length squared in row updates (a backlog drained at 22 a second under
                # write load).
                renew = waiting and lease_clock() - renewed > lease / 3
                if not _mark_sent(db, email, waiting if renew else [], at, lease, lease_clock):
                    log.warning("outbox: a claim was lost mid-batch; its sender stops")
                    return sent, False
                if renew:
                    renewed = lease_clock()
                sent += 1
    except (MailerUnavailable, smtplib.SMTPException, OSError) as exc:
        # The mail server is down, or the connection dropped: no fault of these emails. They
        # wait a few seconds, not a back-off of their own, so that a backlog goes out as soon
        # as the server is back (the give-up time still counts from when each was queued).
        _release(db, waiting, f"{type(exc).__name__}: {exc}", at, settings)
        log.info("outbox: %s delivered, %s wait for the mail server", sent, len(waiting))
        return sent, False
    log.info("outbox: %s delivered", sent)
    return sent, True


def _mark_sent(
    db: Database,
    email: OutboxEmail,
    waiting: list[OutboxEmail],
    at: datetime,
    lease: timedelta,
    lease_clock: LeaseClock = real_clock,
) -> bool:
    """Sent, if this sender still holds the claim; the rest of its batch keeps its lease.
    Plain statements on a connection, not an ORM session: this runs once per email sent, and
    the session's bookkeeping cost more than the statement."""
    with db.engine.begin() as conn:
        marked = conn.execute(
            update(OutboxEmail)
            .where(still_held(email))
            .values(
                state=OutboxState.sent,
                sent_at=at,
                lease_until=None,
                claim_id=None,
                body=spent(email.body),
            )
        )
        if marked.rowcount != 1:
            return False
        if waiting:
            conn.execute(
                update(OutboxEmail)
                .where(
                    col(OutboxEmail.claim_id) == email.claim_id,
                    col(OutboxEmail.state) == OutboxState.sending,
                )
                .values(lease_until=lease_clock() + lease)
            )
    return True


def _recover_abandoned(
    db: Database, at: datetime, settings: Settings, lease_clock: LeaseClock = real_clock
) -> None:
    """Emails a sender died holding: an attempt all the same, so they back off, and an email
    that keeps killing its sender is given up (the admins hear) instead of retried forever."""
    with db.transaction() as session:
        for email in abandoned(session, real_now=lease_clock(), limit=1000):
            error = "its sender stopped while sending it"
            _failed_attempt(
                session,
                email,
                error,
                at,
                settings,
                give_up=email.attempts + 1 >= settings.outbox_most_abandoned,
            )
            email.claim_id = None
            session.add(email)


def _release(
    db: Database, waiting: list[OutboxEmail], error: str, at: datetime, settings: Settings
) -> None:
    if not waiting:
        return
    give_up = timedelta(hours=settings.outbox_give_up_hours)
    expired = [e for e in waiting if at - e.created_at >= give_up]
    _record_failures(db, expired, error, at, settings)  # past the give-up time: failed
    again = at + timedelta(seconds=settings.outbox_server_retry_seconds)
    with db.transaction() as session:
        for email in waiting:
            if email in expired:
                continue
            session.execute(
                update(OutboxEmail)
                .where(still_held(email))
                .values(
                    state=OutboxState.pending,
                    next_attempt_at=again,
                    lease_until=None,
                    claim_id=None,
                    last_error=error[:500],
                )
            )


def _record_failures(
    db: Database, emails_: list[OutboxEmail], error: str, at: datetime, settings: Settings
) -> None:
    if not emails_:
        return
    with db.transaction() as session:
        for email in emails_:
            row = session.get(OutboxEmail, email.id, with_for_update=True, populate_existing=True)
            if row is None or row.claim_id != email.claim_id:
                continue  # another sender holds it now
            _failed_attempt(session, row, error[:500], at, settings)
            row.claim_id = None
            session.add(row)


def _failed_attempt(
    session: Session,
    email: OutboxEmail,
    error: str,
    at: datetime,
    settings: Settings,
    *,
    give_up: bool = False,
) -> None:
    email.attempts += 1
    email.last_error = error
    email.lease_until = None
    if not give_up and at - email.created_at < timedelta(hours=settings.outbox_give_up_hours):
        email.state = OutboxState.pending
        email.next_attempt_at = at + _retry_delay(email.attempts, settings)
        return
    email.state = OutboxState.failed
    email.body = spent(email.body)  # never to be sent now: its links need not live here
    if email.kind == "delivery_failed":
        return  # never a chain of failure notices about failure notices
    school = session.get(School, email.school_id) if email.school_id else None
    admins = staff_with_role(session, school, Role.admin) if school else []
    notice = emails.delivery_failed(
        email_id=email.id or 0,
        kind=email.kind,
        hours=settings.outbox_give_up_hours,
        base_url=settings.public_url,
    )
    for admin in admins:
        send(
            session, f"failed:{email.id}", "delivery_failed", admin, notice, email.school_id, at=at
        )
