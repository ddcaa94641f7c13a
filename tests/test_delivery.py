"""Email that arrives once and promptly: a backlog drains in one run, a sender killed mid-batch
costs at most the email in flight (sent again with the same Message-ID), and a sender whose
claim was taken over stops."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text as sql
from sqlmodel import select

from core import clock
from core.models import OutboxEmail
from core.outbox import claim, enqueue
from scheduler.delivery import _mark_sent, _recover_abandoned, deliver_outbox
from tests.support.mail import Inbox, free_port


def queue(db, count: int) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        for n in range(count):
            enqueue(
                session,
                dedupe_key=f"test:{n}",
                kind="test",
                to_address=f"person{n}@a.example.org",
                subject=f"Test {n}",
                body="A test email.\n",
                at=clock.now(),
            )


def message_ids(inbox: Inbox) -> Counter[str]:
    return Counter(str(m["Message-ID"]) for _, m in inbox.received)


class SlowInbox(Inbox):
    """A mail server that takes its time over each email, as a busy one does."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_server():  # type: ignore[no-untyped-def]
    inbox = SlowInbox(0.02)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def test_a_backlog_drains_in_one_run(db, app, mail_settings, mail_server):
    queue(db, 250)
    delivered = deliver_outbox(db, mail_settings, clock.now())
    assert delivered == 250  # three batches of up to 100, one run: not one batch per tick
    assert len(mail_server.inbox.received) == 250
    with db.engine.connect() as conn:
        left = conn.execute(sql("SELECT count(*) FROM outbox_email WHERE state <> 'sent'"))
        assert left.scalar_one() == 0


def test_a_sender_that_lost_its_claim_stops(db, app, mail_settings):
    queue(db, 3)
    claimed_at = datetime.now(UTC)
    with db.transaction() as session:
        first = claim(
            session, at=clock.now(), real_now=claimed_at, lease=timedelta(seconds=1), limit=10
        )
    # The first sender stalls past its lease; a second takes the rows over.
    stalled = claimed_at + timedelta(seconds=1.1)
    _recover_abandoned(db, clock.now(), mail_settings, lambda: stalled)  # an attempt, backed off
    later = clock.now() + timedelta(hours=1)
    with db.transaction() as session:
        second = claim(session, at=later, real_now=stalled, lease=timedelta(minutes=5), limit=10)
    assert {e.id for e in second} == {e.id for e in first}
    assert all(e.attempts == 1 for e in second)  # the stalled claim counted as an attempt
    assert not _mark_sent(db, first[0], first[1:], clock.now(), timedelta(minutes=5))
    assert _mark_sent(db, second[0], second[1:], clock.now(), timedelta(minutes=5))
    with db.session() as session:
        row = session.get(OutboxEmail, first[0].id)
        assert row is not None
        assert row.state == "sent"


@pytest.mark.slow
def test_a_scheduler_killed_mid_batch_again_and_again_loses_and_doubles_nothing(
    db, app, database_url, slow_server, tmp_path
):
    inbox, port = slow_server
    queue(db, 120)
    env = {
        **os.environ,
        "CONTACTLOG_DATABASE_URL": database_url,
        "CONTACTLOG_DATA_DIR": str(tmp_path),
        "CONTACTLOG_SMTP_HOST": "127.0.0.1",
        "CONTACTLOG_SMTP_PORT": str(port),
        "CONTACTLOG_SMTP_SECURITY": "none",
        "CONTACTLOG_SMTP_TIMEOUT_SECONDS": "0.5",
        "CONTACTLOG_OUTBOX_LEASE_SECONDS": "5",
        "CONTACTLOG_OUTBOX_BATCH_SIZE": "40",
        "CONTACTLOG_OUTBOX_RETRY_BASE_SECONDS": "1",
    }
    command = [sys.executable, "-m", "api.cli", "jobs", "run", "outbox"]
    kills = 0
    for _ in range(3):
        before = len(inbox.received)
        sender = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while len(inbox.received) < before + 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        sender.send_signal(signal.SIGKILL)  # mid-batch, with emails in flight
        sender.wait()
        kills += 1
        time.sleep(9.9)  # the dead sender's lease (1.5 x (3 timeouts + 5 s)) runs out
    for _ in range(10):  # the dead senders' emails back off a second or so, then go
        done = subprocess.run(command, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        with db.engine.connect() as conn:
            if not conn.execute(
                sql("SELECT count(*) FROM outbox_email WHERE state <> 'sent'")
            ).scalar_one():
                break
        time.sleep(1.2)
    counts = message_ids(inbox)
    with db.engine.connect() as conn:
        ids = conn.execute(sql("SELECT id FROM outbox_email")).scalars().all()
        states = set(conn.execute(sql("SELECT state FROM outbox_email")).scalars().all())
    assert states == {"sent"}
    assert len(counts) == len(ids) == 120  # every email arrived
    doubled = [m for m, n in counts.items() if n > 1]
    assert all(counts[m] == 2 for m in doubled)  # none more than twice
    assert len(doubled) <= kills  # only the one in flight at each kill


def test_after_an_outage_the_backlog_goes_out_on_the_next_run(db, app, settings):
    from tests.support.mail import MailServer

    server = MailServer(free_port())  # down: nothing listens yet
    mailing = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none"}
    )
    queue(db, 150)
    at = clock.now()
    assert deliver_outbox(db, mailing, at) == 0
    server.start()
    try:
        later = at + timedelta(seconds=mailing.outbox_server_retry_seconds)
        assert deliver_outbox(db, mailing, later) == 150  # seconds after, not a back-off later
        assert len(message_ids(server.inbox)) == 150
    finally:
        server.stop()


def test_an_email_that_keeps_killing_its_sender_is_given_up(db, app, world, mail_settings):
    """Yesterday such a batch was retried forever; now each death is an attempt."""
    queue(db, 1)
    with db.engine.begin() as conn:
        conn.execute(sql("UPDATE outbox_email SET school_id = :s"), {"s": world.school_a})
    at = clock.now()
    for _ in range(mail_settings.outbox_most_abandoned):
        claimed_at = datetime.now(UTC)
        with db.transaction() as session:
            taken = claim(
                session, at=at, real_now=claimed_at, lease=timedelta(milliseconds=1), limit=10
            )
            assert len(taken) == 1
        # ... and its sender dies: its lease runs out.
        _recover_abandoned(db, at, mail_settings, lambda: claimed_at + timedelta(seconds=1))
        at += timedelta(hours=2)  # past any back-off, well within the give-up time
    with db.session() as session:
        rows = {e.kind: e for e in session.exec(select(OutboxEmail)).all()}
    assert rows["test"].state == "failed"
    assert rows["test"].attempts == 5
    assert rows["delivery_failed"].to_address == "admin@a.example.org"  # the admins hear


@pytest.mark.slow
def test_a_batch_slower_than_its_lease_is_not_sent_twice_by_a_second_scheduler(
    db, app, database_url, tmp_path
):
    """Yesterday a second scheduler claimed a batch the first was still sending: the lease is
    renewed while the batch goes (each time a third of it has passed), so the second finds
    nothing to take."""
    inbox = SlowInbox(0.2)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    queue(db, 60)  # 12 s of sending in one batch, longer than the 9.75 s lease
    env = {
        **os.environ,
        "CONTACTLOG_DATABASE_URL": database_url,
        "CONTACTLOG_DATA_DIR": str(tmp_path),
        "CONTACTLOG_SMTP_HOST": "127.0.0.1",
        "CONTACTLOG_SMTP_PORT": str(controller.port),
        "CONTACTLOG_SMTP_SECURITY": "none",
        "CONTACTLOG_SMTP_TIMEOUT_SECONDS": "0.5",
        "CONTACTLOG_OUTBOX_LEASE_SECONDS": "5",
    }
    command = [sys.executable, "-m", "api.cli", "jobs", "run", "outbox"]
    try:
        first = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(10.5)  # past the first claim's original lease
        second = subprocess.run(command, env=env, capture_output=True, timeout=60)
        assert second.returncode == 0
        assert first.wait(timeout=60) == 0
    finally:
        controller.stop()
    counts = message_ids(inbox)
    assert len(counts) == 60
    assert set(counts.values()) == {1}
