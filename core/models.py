"""The kernel's tables: stored replies to retried requests, the scheduler's run counters, and the
outbox of emails on their way."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core.columns import not_a_record
from core.db import UTCDateTime

MAX_KEY_LENGTH = 200


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    # Keys are per account: two people's clients may well pick the same key.
    staff_id: int = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=MAX_KEY_LENGTH)
    endpoint: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


not_a_record(IdempotencyKey, "a stored reply to a retried request, forgotten after its days")


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"

    job: str = Field(primary_key=True, max_length=40)
    runs: int = 0
    failures: int = 0
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_ok_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_count: int = 0
    last_seconds: float = 0.0


not_a_record(JobRun, "counters of the scheduler's runs, for the health page")


class OutboxState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class OutboxEmail(SQLModel, table=True):
    __tablename__ = "outbox_email"

    id: int | None = Field(default=None, primary_key=True)
    # One email per occasion: a job that runs twice finds its key taken and sends nothing more.
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40, index=True)
    school_id: int | None = Field(default=None, foreign_key="school.id", index=True)
    to_staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    # The contact the email is about, so its chronology can show the reminders it caused.
    contact_id: int | None = Field(default=None, index=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default=OutboxState.pending, max_length=10)
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who holds the row while sending it: every later update matches it, so a sender whose
    # lease ran out (and whose rows another took) changes nothing and stops.
    claim_id: str | None = Field(default=None, max_length=32)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)


not_a_record(
    OutboxEmail,
    "an email on its way: what it tells of is in the change record",
)
