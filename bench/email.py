"""P4: the outbox end to end, a running `contactlog scheduler` delivering into a local SMTP
server, measured against what that server takes from the leanest sender."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from bench import data, wrk
from bench.measure import free_port, report, serve, stop
from bench.p1 import log_body
from core.db import Database
from core.outbox import enqueue
from core.settings import Settings


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.count += 1
        return "250 OK"


def _wait_for(sink: Sink, count: int, limit: float) -> float | None:
    """Seconds from the first email's arrival to the `count`th, or None if it never came."""
    deadline = time.perf_counter() + limit
    while sink.count == 0 and time.perf_counter() < deadline:
        time.sleep(0.005)
    first = time.perf_counter()
    while sink.count < count and time.perf_counter() < deadline:
        time.sleep(0.01)
    return time.perf_counter() - first if sink.count >= count else None


def _queue(db: Database, count: int, label: str) -> None:
    with db.transaction() as session:
        for i in range(count):
            enqueue(
                session,
                dedupe_key=f"bench:{label}:{i}",
                kind="bench",
                to_address="t@example.org",
                subject="Action needed",
                body="Please delete the contact method.\n" * 5,
                at=datetime.now(UTC),
            )


# The busy API's load lasts this long; the backlog is queued two seconds in.
BUSY_SECONDS = 30


def _drain_while_busy(
    db: Database, url: str, env: dict[str, str], settings: Settings, sink: Sink, count: int
) -> float:
    """Emails/s delivered from a fresh backlog while wrk keeps the API busy logging entries (each
    flagged, so each also queues the DSL's alert, as a busy school does)."""
    school = data.seed_school(db, settings)
    served = {**env, "CONTACTLOG_DATABASE_URL": url}
    api, base = serve([sys.executable, "-m", "api.cli", "serve"], served, "/healthz")
    load: list[object] = []
    try:
        token = data.teacher_token(base)
        writer = threading.Thread(
            target=lambda: load.append(
                wrk.run(
                    base,
                    f"/contacts/{school.contact_id}/messages",
                    server_pid=api.pid,
                    seconds=BUSY_SECONDS,
                    method="POST",
                    body=log_body(),
                    token=token,
                    distinct=True,
                )
            ),
            daemon=True,
        )
        writer.start()
        time.sleep(2)  # the load is up before the backlog is queued
        _queue(db, count, "busy")
        took = _wait_for(sink, count, 120)
        writer.join(timeout=BUSY_SECONDS + 30)
    finally:
        stop(api)
    if load:
        print(f"    meanwhile the API logged entries at {load[0].line()}")  # type: ignore[attr-defined]
    return count / took if took else 0.0


def _sink_ceiling(port: int, count: int) -> float:
    """What the local SMTP server takes from the leanest sender, one connection: P4's ceiling."""
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "a@example.org", "t@example.org", "Test"
    email.set_content("Please delete the contact method.\n" * 5)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for _ in range(count):
            smtp.send_message(email)
    return count / (time.perf_counter() - started)


def p4_outbox(backend: str, folder: str, env: dict[str, str], settings: Settings) -> None:
    """End to end: `contactlog scheduler` running as in production, delivering a queue of 2,500
    emails into a local SMTP server; then the same after the mail server was down for a while;
    then the same while the API is busy logging (wrk, as P1), against the idle rate."""
    db, url, schema = data.fresh_database(backend, folder)
    port = free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    count = 2500
    ceiling = _sink_ceiling(port, count)
    sink.count = 0
    print(
        f"  (the SMTP sink itself takes {ceiling:.0f} emails/s from a bare smtplib loop:"
        f" {'the server, not the sink, bounds P4' if ceiling > 2 * 200 else 'SINK-BOUND'})"
    )
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "scheduler"],
        env={
            **env,
            "CONTACTLOG_DATABASE_URL": url,
            "CONTACTLOG_SMTP_HOST": "127.0.0.1",
            "CONTACTLOG_SMTP_PORT": str(port),
            "CONTACTLOG_SMTP_SECURITY": "none",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _queue(db, count, "steady")
        took = _wait_for(sink, count, 180)
        rate = count / took if took else 0.0
        report(
            "P4 outbox emails/s, end to end / 200",
            backend,
            rate / 200,
            ">= 1.00",
            f"{rate:.0f} emails/s: {count:,} queued, through a running scheduler into SMTP",
        )
        controller.stop()  # the mail server goes down; the queue grows meanwhile
        _queue(db, count, "outage")
        time.sleep(20)
        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        back = time.perf_counter()
        _wait_for(sink, count, 180)
        cleared = time.perf_counter() - back
        report(
            "P4 backlog cleared after outage / 30 s",
            backend,
            cleared / 30,
            "<= 1.00",
            f"{count:,} emails queued during a 20 s outage, all delivered {cleared:.1f} s after"
            " the mail server came back",
        )
        sink.count = 0
        loaded = _drain_while_busy(db, url, env, settings, sink, count)
        report(
            "P4 drain while the API logs / idle drain",
            backend,
            loaded / rate if rate else 0.0,
            ">= 0.50",
            f"{loaded:.0f} emails/s while wrk logged entries through the API, against "
            f"{rate:.0f} emails/s idle",
        )
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
        controller.stop()
        db.dispose()
        data.drop(backend, schema)
