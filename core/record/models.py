"""The change record's tables: its events (the hash chain), the chain's head, events waiting to join
it at commit, the checks made of it and the checkpoints signed of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core.columns import not_a_record
from core.db import UTCDateTime

GENESIS = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, index=True)
    school_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: int | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # The content is hashed apart from the chain, so erasing personal content under the
    # retention schedule leaves every link checkable.
    content_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    link_hash: str = Field(max_length=64)


not_a_record(
    AuditEvent,
    "the change record itself, hashed into the chain",
)


class AuditHead(SQLModel, table=True):
    """The chain's newest link; appending locks this one row, so writers can never fork."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    link_hash: str = Field(default=GENESIS, max_length=64)


not_a_record(AuditHead, "the chain's head, a lock and a pointer")


class AuditPending(SQLModel, table=True):
    """PostgreSQL: one transaction's events, linked into the chain as that transaction commits.

    A deferred trigger does the linking inside COMMIT (migration `f41c8b7d2e95`), so the head
    is never locked while the application is still on its way to committing.
    """

    __tablename__ = "audit_pending"

    id: int | None = Field(default=None, primary_key=True)
    events: str = Field(sa_column=Column(Text, nullable=False))


not_a_record(AuditPending, "events waiting to join the chain at commit")


class ChainCheck(SQLModel, table=True):
    """A full check of the change record, kept: pages show the latest without making one (a
    check reads every event and record, minutes on a large trust's log), and a failure stays
    on file beside the email that told the DSLs."""

    __tablename__ = "chain_check"

    id: int | None = Field(default=None, primary_key=True)
    checked_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ok: bool
    events_checked: int
    first_bad: int | None = None
    records_checked: int
    altered: int


not_a_record(ChainCheck, "the outcome of a check of the record, which names what it found")


class ChainCheckpoint(SQLModel, table=True):
    __tablename__ = "chain_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    # One checkpoint per head: two schedulers signing at once make one.
    seq: int = Field(unique=True)
    link_hash: str = Field(max_length=64)
    signed_at: datetime = Field(sa_type=UTCDateTime)
    key_id: str = Field(max_length=16)
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    # The exact signed text (canonical JSON) and its signature, base64.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    signature: str = Field(max_length=100)


not_a_record(ChainCheckpoint, "a signed statement of the chain's head: it vouches for the record")
