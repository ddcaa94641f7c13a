"""The review of the log: the DSL's marks on entries (the flags are the log's own, in contacts)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from core.columns import (
    FREE_TEXT,
    PERSONAL,
    SEALED,
    SHOWN,
    declare,
    free_text_of,
)
from core.db import UTCDateTime
from core.inputs import Forbid


class MessageReview(SQLModel, table=True):
    __tablename__ = "message_review"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    reviewer_id: int = Field(foreign_key="staff.id")
    reviewed_at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(sa_column=Column(Text, nullable=False))
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


declare(
    MessageReview,
    {
        "id": SEALED,
        "message_id": SEALED | SHOWN,
        "reviewer_id": SEALED,
        "reviewed_at": SEALED | SHOWN,
        "note": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "redacted_at": SEALED,
    },
)


class ReviewCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(MessageReview)
    note: str = Field(min_length=1, max_length=5000)


class MessageReviewPublic(SQLModel):
    id: int
    message_id: int
    reviewer_id: int
    reviewed_at: datetime
    note: str
