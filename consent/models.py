"""Parental consents (§5.5, under 16) and notices that parents were informed (16 and over)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import model_validator
from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from consent.rules import ConsentTerms
from core.columns import FREE_TEXT, PERSONAL, SEALED, SHOWN, UNSEALED, declare, free_text_of
from core.db import UTCDateTime
from core.inputs import Day, Forbid, RecordId


class ConsentMethod(StrEnum):
    signed_form = "signed_form"
    email = "email"
    app = "app"
    letter = "letter"
    # Given by the parent themselves, through the link in a consent request (consent.requests).
    online = "online"
    other = "other"


class ConsentBase(SQLModel):
    contact_id: int
    guardian_id: int
    method: ConsentMethod = Field(sa_column=Column(String(20), nullable=False))
    evidence_reference: str = Field(min_length=1, max_length=200)
    given_on: date
    expires_on: date | None = None


class ConsentCreate(ConsentBase, Forbid):
    contact_id: RecordId
    guardian_id: RecordId
    given_on: Day
    expires_on: Day | None = None

    @model_validator(mode="after")
    def _expiry_after_given(self) -> ConsentCreate:
        if self.expires_on is not None and self.expires_on < self.given_on:
            raise ValueError("expires_on must not be before given_on")
        return self


class ConsentPublic(ConsentBase):
    id: int
    pupil_id: int
    withdrawn_on: date | None
    withdrawal_reason: str | None
    recorded_by_id: int | None
    recorded_at: datetime


class Consent(ConsentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    guardian_id: int = Field(foreign_key="guardian.id")
    withdrawn_on: date | None = None
    withdrawal_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    withdrawal_recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_by_id: int | None = Field(default=None, foreign_key="staff.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def terms(self) -> ConsentTerms:
        return ConsentTerms(self.given_on, self.expires_on, self.withdrawn_on)


# Who gave it is shown to the pupil only as "a parent or carer".
declare(
    Consent,
    {
        "id": SEALED | SHOWN,
        "school_id": SEALED,
        "pupil_id": SEALED,
        "contact_id": SEALED | SHOWN,
        "guardian_id": SEALED,
        "method": SEALED | SHOWN,
        "evidence_reference": SEALED | PERSONAL | SHOWN,
        "given_on": SEALED | SHOWN,
        "expires_on": SEALED | SHOWN,
        "withdrawn_on": SEALED | SHOWN,
        "withdrawal_reason": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "withdrawal_recorded_at": SEALED,
        "recorded_by_id": SEALED,
        "recorded_at": SEALED,
        "redacted_at": SEALED,
    },
)


class WithdrawalCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(Consent, reason="withdrawal_reason")
    withdrawn_on: Day | None = None
    reason: str = Field(min_length=1, max_length=2000)


class ParentNoticeBase(SQLModel):
    contact_id: int | None = None
    informed_on: date
    informed_by: str = Field(min_length=1, max_length=200)
    method: ConsentMethod = Field(sa_column=Column(String(20), nullable=False))
    reason_explained: str = Field(min_length=1, max_length=2000)


class ParentNoticePublic(ParentNoticeBase):
    id: int
    pupil_id: int
    recorded_by_id: int | None
    recorded_at: datetime


class ParentNotice(ParentNoticeBase, table=True):
    __tablename__ = "parent_notice"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    reason_explained: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by_id: int | None = Field(default=None, foreign_key="staff.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


declare(
    ParentNotice,
    {
        "id": SEALED | SHOWN,
        "school_id": SEALED,
        "pupil_id": SEALED,
        "contact_id": SEALED | SHOWN,
        "informed_on": SEALED | SHOWN,
        "informed_by": SEALED | PERSONAL,
        "method": SEALED | SHOWN,
        "reason_explained": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "recorded_by_id": SEALED,
        "recorded_at": SEALED,
        "redacted_at": SEALED,
    },
)


class ParentNoticeCreate(ParentNoticeBase, Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(ParentNotice)
    contact_id: RecordId | None = None
    informed_on: Day


class RequestState(StrEnum):
    waiting = "waiting"
    given = "given"
    declined = "declined"
    withdrawn = "withdrawn"
    no_answer = "no_answer"  # the link expired unanswered


class ConsentRequest(SQLModel, table=True):
    __tablename__ = "consent_request"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id")
    guardian_id: int = Field(foreign_key="guardian.id")
    token_hash: str = Field(max_length=64, unique=True)
    sent_by_id: int | None = Field(default=None, foreign_key="staff.id")
    sent_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    reminders_sent: int = 0
    answer: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decline_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The SHA-256 of the exact text the guardian was shown when they answered: the evidence.
    shown_text_sha256: str | None = Field(default=None, max_length=64)
    consent_id: int | None = Field(default=None, foreign_key="consent.id")
    # A refusal stops contact with the pupil on the contact, whatever another guardian said,
    # until the school resolves it with the family (consent.refusals): who, when, and how.
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by_id: int | None = Field(default=None, foreign_key="staff.id")
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The link's hash is a secret; its expiry and the reminder count are stamps the scheduler keeps.
declare(
    ConsentRequest,
    {
        **dict.fromkeys(("id", "school_id", "contact_id", "pupil_id", "guardian_id"), SEALED),
        **dict.fromkeys(("token_hash", "expires_at", "reminders_sent"), UNSEALED),
        **dict.fromkeys(("sent_by_id", "sent_at", "answer", "answered_at"), SEALED),
        "decline_reason": SEALED | PERSONAL | FREE_TEXT,
        **dict.fromkeys(("shown_text_sha256", "consent_id", "redacted_at"), SEALED),
        **dict.fromkeys(("resolved_at", "resolved_by_id"), SEALED),
        "resolution": SEALED | PERSONAL | FREE_TEXT,
    },
)


class AnswerCreate(Forbid):
    """A parent's reason, when they decline or withdraw through their link: their own words,
    lines allowed, nothing hidden in them (the same rules as any other free text)."""

    free_text: ClassVar[frozenset[str]] = free_text_of(ConsentRequest, reason="decline_reason")
    reason: str | None = Field(default=None, min_length=1, max_length=2000)


class ResolutionCreate(Forbid):
    """How the school resolved a parent's refusal with the family, in its own words."""

    free_text: ClassVar[frozenset[str]] = free_text_of(ConsentRequest, how="resolution")
    how: str = Field(min_length=1, max_length=2000)


class ConsentRequestPublic(SQLModel):
    id: int
    contact_id: int
    pupil_id: int
    guardian_id: int
    sent_at: datetime
    expires_at: datetime
    reminders_sent: int
    state: RequestState
    answered_at: datetime | None
    decline_reason: str | None
    shown_text_sha256: str | None
    consent_id: int | None
    resolved_at: datetime | None = None
    resolved_by_id: int | None = None
    resolution: str | None = None
