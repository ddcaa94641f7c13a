"""Delivery over SMTP: one connection per batch, STARTTLS or TLS, a stable Message-ID per email."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from core.outbox import OutboxEmail
from core.settings import Settings
from core.text import one_line, safe_body


class MailerUnavailable(Exception):
    """The mail server could not be reached or refused the session; every email waits."""


def message_id(email: OutboxEmail, sender: str) -> str:
    # Stable per outbox row, so a mail client can recognise a redelivery after a crash.
    domain = sender.rsplit("@", 1)[-1] or "contactlog"
    return f"<outbox-{email.id}.{int(email.created_at.timestamp())}@{domain}>"


def build(email: OutboxEmail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    # Every header is one line whatever a row holds (rows written before input was checked
    # included): an email that fails to build would silence the alert it carries.
    message["To"] = one_line(email.to_address)
    message["Subject"] = one_line(email.subject)
    message["Message-ID"] = message_id(email, settings.mail_from)
    message["Date"] = format_datetime(email.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(safe_body(email.body))
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
