"""Delivery over SMTP: one connection per batch, STARTTLS or TLS, a stable Message-ID per email."""

from __future__ import annotations

import smtplib
import ssl
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.utils import format_datetime

from core.models import OutboxEmail
from core.settings import Settings
from core.text import one_line, safe_body


class MailerUnavailable(Exception):
    """The mail server could not be reached or refused the session; every email waits."""


def message_id(email: OutboxEmail, sender: str) -> str:
    # Stable per outbox row, so a mail client can recognise a redelivery after a crash.
    domain = sender.rsplit("@", 1)[-1] or "contactlog"
    return f"<outbox-{email.id}.{int(email.created_at.timestamp())}@{domain}>"


# UTF-8 bodies as quoted-printable: readable in the raw, safe on any mail server.
_BODY = Charset("utf-8")
_BODY.body_encoding = QP


def _header(value: str) -> str:
    """A header value as is when it is ASCII, RFC 2047-encoded when it is not."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def build(email: OutboxEmail, settings: Settings) -> Message:
    """The email as the mail server receives it. Built with the email package's plain
    (compat32) message rather than EmailMessage: the wire form is the same, and EmailMessage's
    header objects cost more than sending the email (a backlog drains at the CPU's pace)."""
    message = Message()
    message["From"] = settings.mail_from
    # Every header is one line whatever a row holds (rows written before input was checked
    # included): an email that fails to build would silence the alert it carries.
    message["To"] = _header(one_line(email.to_address))
    message["Subject"] = _header(one_line(email.subject))
    message["Message-ID"] = message_id(email, settings.mail_from)
    message["Date"] = format_datetime(email.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message["MIME-Version"] = "1.0"
    message.set_payload(safe_body(email.body), _BODY)
    return message


class SmtpMailer:
    """Opened once per delivery batch; `send` raises per email, `MailerUnavailable` for all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        s = self.settings
        try:
            if s.smtp_security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host,
                    s.smtp_port,
                    timeout=s.smtp_timeout_seconds,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailerUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from exc
        self._smtp = smtp
        return self

    def send(self, email: OutboxEmail) -> None:
        assert self._smtp is not None
        self._smtp.send_message(build(email, self.settings))

    def __exit__(self, *_: object) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
