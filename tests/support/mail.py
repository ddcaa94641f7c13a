"""A real mail server for the tests (aiosmtpd on a free local port), what people receive in it,
and the scheduled jobs run as of an instant: the email side of the test ground."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from scheduler.runner import run_job
from tests.support import builders

OWNER, MANAGER, DSL = "owner@a.example.org", "manager@a.example.org", "dsl@a.example.org"


def text(message: Message) -> str:
    """The body as the reader sees it, decoded from its transfer encoding."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """What the mail server received, as a person's mail client would see it."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for rcpt, m in self.received if address in rcpt]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]


class MailServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mail_server():  # type: ignore[no-untyped-def]
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings, mail_server):  # type: ignore[no-untyped-def]
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mail_server.port,
            "smtp_security": "none",
            "mail_from": "contactlog@riverside.example.org",
        }
    )


def noon(day_offset: int) -> datetime:
    """Midday UTC, `day_offset` days from the day the test started: clear of any midnight in
    London, and fixed, so a clock set to one of these instants does not move the others. The
    day is the test's, not the suite's: a run that crosses midnight would otherwise count from
    yesterday while the test's contacts count from today."""
    day = builders.day_of_test() + timedelta(days=day_offset)
    return datetime.combine(day, time(12), tzinfo=UTC)


def run_all(db, settings, at):  # type: ignore[no-untyped-def]
    for name in (
        "end_sweep",
        "ending_soon",
        "deletion_reminders",
        "alerts",
        "approvals",
        "concerns",
        "outbox",
    ):
        run_job(name, db, settings, at)
