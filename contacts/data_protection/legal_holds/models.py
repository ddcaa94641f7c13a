"""A legal hold: on whom or what, the case, who placed it and why, and its release."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

from core.columns import (
    FREE_TEXT,
    SEALED,
    declare,
    free_text_of,
)
from core.db import UTCDateTime
from core.inputs import Forbid, RecordId


class HeldSubject(StrEnum):
    pupil = "pupil"  # and so that pupil's contacts, messages, consents and incidents
    staff = "staff"
    contact = "contact"
    incident = "incident"


class LegalHold(SQLModel, table=True):
    __tablename__ = "legal_hold"
    __table_args__ = (Index("ix_legal_hold_subject", "subject_type", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    subject_type: str = Field(sa_column=Column(String(20), nullable=False))
    subject_id: int
    case_reference: str = Field(max_length=100)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    placed_by_id: int | None = Field(default=None, foreign_key="staff.id")
    placed_at: datetime = Field(sa_type=UTCDateTime)
    released_by_id: int | None = Field(default=None, foreign_key="staff.id")
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    release_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# Everything about a hold is content; it is never redacted while it stands.
declare(
    LegalHold,
    {
        **dict.fromkeys(("id", "school_id", "subject_type", "subject_id"), SEALED),
        "case_reference": SEALED,
        "reason": SEALED | FREE_TEXT,
        **dict.fromkeys(("placed_by_id", "placed_at", "released_by_id", "released_at"), SEALED),
        "release_reason": SEALED | FREE_TEXT,
    },
)


class HoldCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(LegalHold)
    subject_type: HeldSubject
    subject_id: RecordId
    case_reference: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


class ReleaseCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(LegalHold, reason="release_reason")
    reason: str = Field(min_length=1, max_length=2000)


class HoldPublic(SQLModel):
    id: int
    school_id: int
    subject_type: HeldSubject
    subject_id: int
    case_reference: str
    reason: str
    placed_by_id: int | None
    placed_at: datetime
    released_by_id: int | None
    released_at: datetime | None
    release_reason: str | None
    active: bool
