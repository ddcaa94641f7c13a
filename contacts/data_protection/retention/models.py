"""A retention run's report: what was redacted, by school and record type, what holds kept,
and what minimisation removed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core.columns import (
    SEALED,
    declare,
)
from core.db import UTCDateTime


class RetentionRun(SQLModel, table=True):
    __tablename__ = "retention_run"

    id: int | None = Field(default=None, primary_key=True)
    trust_id: int = Field(foreign_key="trust.id", index=True)
    ran_at: datetime = Field(sa_type=UTCDateTime)
    # Who ran it by hand; None for the scheduler.
    run_by_id: int | None = Field(default=None, foreign_key="staff.id")
    # The report (RetentionReport without its id), as JSON.
    report: str = Field(sa_column=Column(Text, nullable=False))


declare(
    RetentionRun,
    dict.fromkeys(("id", "trust_id", "ran_at", "run_by_id", "report"), SEALED),
)


class Redacted(SQLModel):
    school_id: int
    record_type: str
    count: int
    ids: list[int]


class KeptByHold(SQLModel):
    """Records past their period that a legal hold keeps whole."""

    hold_id: int
    school_id: int
    case_reference: str
    record_type: str
    count: int
    ids: list[int]


class Forgotten(SQLModel):
    """Minimisation: data that is evidence of nothing, removed after its days."""

    account_links: int = 0
    retry_replies: int = 0
    outbox_bodies: int = 0


class RetentionReport(SQLModel):
    id: int | None = None
    trust_id: int
    ran_at: datetime
    dry_run: bool
    run_by_id: int | None
    redacted: list[Redacted]
    kept: list[KeptByHold]
    forgotten: Forgotten
    # Records the schedule called due that are younger than the deployment's floor: the run
    # refused, redacted nothing, and told the trust's DPO (a date edited to shorten a period,
    # or a policy loosened by hand, shows here).
    refused_too_young: list[Redacted] = []
