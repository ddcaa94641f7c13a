"""A subject access request: whose data, who asked, when it arrived, when it is due."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from core.columns import (
    FREE_TEXT,
    SEALED,
    declare,
    free_text_of,
)
from core.db import UTCDateTime
from core.inputs import Day, Forbid, RecordId


class Whose(StrEnum):
    pupil = "pupil"
    staff = "staff"


class SubjectAccessRequest(SQLModel, table=True):
    __tablename__ = "subject_access_request"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    subject_type: str = Field(sa_column=Column(String(10), nullable=False))
    subject_id: int
    requested_by: str = Field(max_length=200)
    received_on: date
    due_on: date
    extra_months: int = 0
    extension_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed_on: date | None = None
    recorded_by_id: int | None = Field(default=None, foreign_key="staff.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


declare(
    SubjectAccessRequest,
    {
        **dict.fromkeys(("id", "school_id", "subject_type", "subject_id"), SEALED),
        **dict.fromkeys(("requested_by", "received_on", "due_on", "extra_months"), SEALED),
        "extension_reason": SEALED | FREE_TEXT,
        **dict.fromkeys(("completed_on", "recorded_by_id", "recorded_at"), SEALED),
    },
)


class RequestCreate(Forbid):
    subject_type: Whose
    subject_id: RecordId
    requested_by: str = Field(min_length=1, max_length=200, description="Who asked, and how")
    received_on: Day


class ExtensionCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(
        SubjectAccessRequest, reason="extension_reason"
    )
    extra_months: int = Field(ge=1, le=2)
    reason: str = Field(min_length=1, max_length=2000)


class CompletionCreate(Forbid):
    completed_on: Day


class RequestPublic(SQLModel):
    id: int
    school_id: int
    subject_type: Whose
    subject_id: int
    requested_by: str
    received_on: date
    due_on: date
    extra_months: int
    extension_reason: str | None
    completed_on: date | None
    overdue: bool
