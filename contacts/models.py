"""Contacts (approved staff–pupil online contact), the message log, deletion tasks and alerts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import model_validator
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, text
from sqlmodel import Field, SQLModel

from consent.standing import PupilState
from core.columns import (
    FREE_TEXT,
    PERSONAL,
    SEALED,
    SHOWN,
    TOLD,
    UNSEALED,
    declare,
    free_text_of,
    not_a_record,
)
from core.db import UTCDateTime
from core.inputs import Day, Forbid, Instant, RecordId


class Platform(StrEnum):
    facebook = "facebook"
    instagram = "instagram"
    whatsapp = "whatsapp"
    x = "x"
    linkedin = "linkedin"
    youtube = "youtube"
    snapchat = "snapchat"
    tes = "tes"
    # The school's own tenant: chat on Google Workspace for Education or Microsoft 365.
    google_chat = "google_chat"
    teams = "teams"
    other = "other"


# Platforms by their proper names, wherever a person reads them (emails, chronologies, pages).
PLATFORM_NAMES: dict[str, str] = {
    Platform.facebook: "Facebook",
    Platform.instagram: "Instagram",
    Platform.whatsapp: "WhatsApp",
    Platform.x: "X",
    Platform.linkedin: "LinkedIn",
    Platform.youtube: "YouTube",
    Platform.snapchat: "Snapchat",
    Platform.tes: "TES",
    Platform.google_chat: "Google Chat",
    Platform.teams: "Microsoft Teams",
    Platform.other: "another platform",
}


def platform_name(platform: str, named: str | None = None) -> str:
    """How a person reads the platform: its proper name, or the name given for 'other'."""
    if platform == Platform.other and named:
        return named
    return PLATFORM_NAMES.get(platform, platform)


class ContactState(StrEnum):
    """A contact's stored state; whether it is active today is worked out (consent.standing)."""

    requested = "requested"
    rejected = "rejected"
    approved = "approved"
    ended = "ended"
    closed = "closed"


class Verdict(StrEnum):
    """The written decision on a request, stored as given (never inferred from other fields)."""

    approved = "approved"
    rejected = "rejected"


class Flag(StrEnum):
    before_approval = "before_approval"
    outside_dates = "outside_dates"
    no_valid_consent = "no_valid_consent"
    # A parent with parental responsibility refused, and the school has not resolved it.
    parent_refused = "parent_refused"
    parent_not_informed = "parent_not_informed"
    unregistered_device = "unregistered_device"
    contact_not_active = "contact_not_active"
    # Words or phrases of the school's review lexicon (low-level concerns, KCSIE).
    lexicon = "lexicon"
    # The platform captured it and its holder did not log it in the trust's time
    # (contacts/capture): the entry was made for them, from the capture.
    not_logged = "not_logged"


# Advisory only: stored and shown, but the DSL is not alerted for it alone.
ADVISORY_FLAGS = frozenset({Flag.parent_not_informed})


def _str_column(length: int, *, nullable: bool = False) -> Column[str]:
    return Column(String(length), nullable=nullable)


# ---------------------------------------------------------------- contacts


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    platform: str = Field(sa_column=_str_column(20))
    platform_name: str | None = Field(default=None, max_length=100)
    school_account: str = Field(max_length=200)
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    starts_on: date
    ends_on: date = Field(index=True)
    state: str = Field(sa_column=_str_column(20), default=ContactState.requested)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verdict: str | None = Field(default=None, sa_column=_str_column(10, nullable=True))
    # An approval's conditions and optional note; a rejection's reason.
    conditions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    rejection_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set by the scheduler when it claims the one email of each kind a contact gets.
    ending_notice_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approval_chased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (Index("ix_contact_state_ends_on", "state", "ends_on"),)


# What a parent is told when asked for consent (TOLD) is the contact's platform, account,
# purpose, dates and conditions, and its holder's name: never another pupil, a note or a
# decision. The scheduler's stamps are not content: it sets them without an event of its own.
declare(
    Contact,
    {
        "id": SEALED | SHOWN,
        "school_id": SEALED,
        "staff_id": SEALED,
        "platform": SEALED | SHOWN | TOLD,
        "platform_name": SEALED | SHOWN | TOLD,
        "school_account": SEALED | PERSONAL | SHOWN | TOLD,
        "purpose": SEALED | PERSONAL | FREE_TEXT | SHOWN | TOLD,
        "starts_on": SEALED | SHOWN | TOLD,
        "ends_on": SEALED | SHOWN | TOLD,
        "state": SEALED | SHOWN,
        "requested_at": SEALED | SHOWN,
        "decided_by_id": SEALED,
        "decided_at": SEALED | SHOWN,
        "verdict": SEALED | SHOWN,
        "conditions": SEALED | PERSONAL | FREE_TEXT | SHOWN | TOLD,
        # The approver's note to the record is not shown to the holder or the pupil.
        "decision_note": SEALED | PERSONAL | FREE_TEXT,
        "rejection_reason": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "ended_at": SEALED | SHOWN,
        "closed_at": SEALED,
        "redacted_at": SEALED,
        "ending_notice_at": UNSEALED,
        "approval_chased_at": UNSEALED,
    },
)


class ContactCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(Contact)
    pupil_ids: list[RecordId] = Field(default_factory=list, max_length=200)
    pupil_references: list[str] = Field(default_factory=list, max_length=200)
    platform: Platform
    platform_name: str | None = Field(default=None, min_length=1, max_length=100)
    school_account: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=2000)
    device_ids: list[RecordId] = Field(min_length=1, max_length=50)
    starts_on: Day
    ends_on: Day

    @model_validator(mode="after")
    def _coherent(self) -> ContactCreate:
        if not self.pupil_ids and not self.pupil_references:
            raise ValueError("name at least one pupil, by pupil_ids or pupil_references")
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        if self.platform == Platform.other and not self.platform_name:
            raise ValueError("platform_name is required when platform is 'other'")
        return self


class ContactPupil(SQLModel, table=True):
    __tablename__ = "contact_pupil"

    contact_id: int = Field(sa_column=Column(Integer, ForeignKey("contact.id"), primary_key=True))
    pupil_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil.id"), primary_key=True, index=True)
    )
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_by_id: int | None = Field(default=None, foreign_key="staff.id")
    end_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The pupil's date of birth as it stood when the contact was asked for, sealed with it:
    # retention counts from this, so no later edit of the pupil can shorten the period.
    born_on: date


declare(
    ContactPupil,
    {
        "contact_id": SEALED,
        "pupil_id": SEALED,
        "ended_at": SEALED | SHOWN,
        "ended_by_id": SEALED,
        "end_reason": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "born_on": SEALED,
    },
)


class ContactDevice(SQLModel, table=True):
    __tablename__ = "contact_device"

    contact_id: int = Field(sa_column=Column(Integer, ForeignKey("contact.id"), primary_key=True))
    device_id: int = Field(sa_column=Column(Integer, ForeignKey("device.id"), primary_key=True))


declare(ContactDevice, {"contact_id": SEALED, "device_id": SEALED})


class DecisionCreate(Forbid):
    """An approval takes conditions and may take a note; a rejection takes a reason."""

    free_text: ClassVar[frozenset[str]] = free_text_of(
        Contact, note="decision_note", reason="rejection_reason"
    )

    approve: bool
    conditions: str | None = Field(default=None, min_length=1, max_length=2000)
    note: str | None = Field(default=None, min_length=1, max_length=2000)
    reason: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _verdict_fits(self) -> DecisionCreate:
        if self.approve and self.reason:
            raise ValueError(
                "a reason belongs to a rejection; an approval takes conditions and a note"
            )
        if not self.approve and not self.reason:
            raise ValueError("a rejection needs a reason")
        if not self.approve and (self.conditions or self.note):
            raise ValueError(
                "conditions and a note belong to an approval; a rejection gives a reason"
            )
        return self

    @property
    def verdict(self) -> Verdict:
        return Verdict.approved if self.approve else Verdict.rejected


class EndCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(ContactPupil, reason="end_reason")
    reason: str = Field(min_length=1, max_length=2000)
    pupil_id: RecordId | None = None


class PupilStandingPublic(SQLModel):
    """One pupil's part of a contact as a reader sees it today (consent.standing)."""

    pupil_id: int
    # The pupil's name, for whoever may read the contact (its holder, deciders, DSLs).
    name: str = ""
    state: PupilState
    needs_consent: bool
    consent_valid: bool
    parent_informed: bool | None
    ended_at: datetime | None
    end_reason: str | None
    deletion_confirmed_at: datetime | None
    # Where asking the parents online stands (consent.requests): waiting, given, declined,
    # withdrawn or no_answer; None when nobody was asked online.
    consent_request: str | None = None
    # What the decider weighs (§5.5): the pupil's age on the contact's first day, and whether
    # the parents must consent before it starts (under the consent age) or only be informed.
    age_at_start: int | None = None
    needs_consent_at_start: bool = False


class ContactPublic(SQLModel):
    id: int
    school_id: int
    staff_id: int
    # Who holds it, by name (a colleague in their professional role).
    staff_name: str = ""
    platform: Platform
    platform_name: str | None
    school_account: str
    purpose: str
    device_ids: list[int]
    starts_on: date
    ends_on: date
    state: ContactState
    # Approved, and today at least one pupil's part is active (dates, consent).
    active: bool
    requested_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None
    verdict: Verdict | None
    conditions: str | None
    decision_note: str | None
    rejection_reason: str | None
    ended_at: datetime | None
    closed_at: datetime | None
    pupils: list[PupilStandingPublic]


# ---------------------------------------------------------------- deletion tasks


class DeletionTask(SQLModel, table=True):
    """§5.6: the contact method must be deleted once a pupil's part of a contact ends."""

    __tablename__ = "deletion_task"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id")
    staff_id: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    how: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Reminders: how many went out, when the next is due, and when it was escalated.
    reminders_sent: int = 0
    next_reminder_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Its reminders are the scheduler's stamps, set without events of their own.
declare(
    DeletionTask,
    {
        **dict.fromkeys(("id", "school_id", "contact_id", "pupil_id", "staff_id"), SEALED),
        **dict.fromkeys(("created_at", "confirmed_at", "deleted_at"), SEALED),
        "how": SEALED | PERSONAL | FREE_TEXT,
        **dict.fromkeys(("reminders_sent", "next_reminder_at", "escalated_at"), UNSEALED),
        "redacted_at": SEALED,
    },
)


class DeletionCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(DeletionTask)
    how: str = Field(min_length=1, max_length=2000)
    deleted_at: Instant | None = None
    pupil_id: RecordId | None = None


class DeletionTaskPublic(SQLModel):
    id: int
    contact_id: int
    pupil_id: int
    staff_id: int
    created_at: datetime
    confirmed_at: datetime | None
    deleted_at: datetime | None
    how: str | None
    reminders_sent: int
    escalated_at: datetime | None


# ---------------------------------------------------------------- the message log


class Direction(StrEnum):
    sent = "sent"
    received = "received"


# A flagged entry, as SQL: literal, so that both databases use the partial index it defines.
FLAGGED = "flags != ''"
# Flagged for a concern, as SQL: for at least one flag that is not advice alone. What the DSL
# is alerted for and the review queue holds, so the dashboard's chart counts the same entries.
CONCERNING = (
    "("
    + " OR ".join(
        f"(',' || flags || ',') LIKE '%,{flag.value},%'"
        for flag in sorted(set(Flag) - ADVISORY_FLAGS)
    )
    + ")"
)


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    staff_id: int = Field(foreign_key="staff.id")
    direction: str = Field(sa_column=_str_column(10))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    logged_at: datetime = Field(sa_type=UTCDateTime)
    device_id: int | None = Field(default=None, foreign_key="device.id")
    device_tag: str = Field(max_length=50)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    verbatim: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    flags: str = Field(default="", max_length=300)
    amends_id: int | None = Field(default=None, foreign_key="message.id")
    amend_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The DSL's review queue: flagged entries, and a random sample of clean ones.
    needs_review: bool = False
    sampled: bool = False
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        Index("ix_message_contact_id_id", "contact_id", "id"),
        Index("ix_message_school_id_id", "school_id", "id"),
        Index("ix_message_staff_id_id", "staff_id", "id"),
        Index("ix_message_review_queue", "school_id", "needs_review", "reviewed_at", "id"),
        # The DSL's weekly chart of flagged entries: only flagged rows, by school and time, so
        # the chart reads the weeks it draws whatever the size of the log (bench P7).
        Index(
            "ix_message_flagged_school_id_occurred_at",
            "school_id",
            "occurred_at",
            sqlite_where=text(FLAGGED),
            postgresql_where=text(FLAGGED),
        ),
    )

    @property
    def flag_list(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]


# Its flags are shown as a list of their own; the device it was sent from is the school's.
declare(
    Message,
    {
        "id": SEALED | SHOWN,
        "school_id": SEALED,
        "contact_id": SEALED | SHOWN,
        "staff_id": SEALED,
        "direction": SEALED | SHOWN,
        "occurred_at": SEALED | SHOWN,
        "logged_at": SEALED | SHOWN,
        "device_id": SEALED,
        "device_tag": SEALED,
        "summary": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "verbatim": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "flags": SEALED,
        "amends_id": SEALED | SHOWN,
        "amend_reason": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "needs_review": SEALED,
        "sampled": SEALED,
        "reviewed_at": SEALED,
        "redacted_at": SEALED,
    },
)


class MessageCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(Message)
    direction: Direction
    occurred_at: Instant
    pupil_ids: list[RecordId] | None = Field(default=None, max_length=200)
    device_tag: str = Field(min_length=1, max_length=50)
    summary: str = Field(min_length=1, max_length=2000)
    verbatim: str | None = Field(default=None, max_length=20000)
    amends_id: RecordId | None = None
    amend_reason: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _coherent(self) -> MessageCreate:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a time zone offset, e.g. 2026-11-24T16:05:00Z")
        if (self.amends_id is None) != (self.amend_reason is None):
            raise ValueError("a correction gives both amends_id and amend_reason")
        return self


class MessagePupil(SQLModel, table=True):
    __tablename__ = "message_pupil"

    message_id: int = Field(sa_column=Column(Integer, ForeignKey("message.id"), primary_key=True))
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), primary_key=True))
    # The entry's own occurred_at, copied: a pupil's chronology reads their newest entries from
    # the index below, however many there are (bench P6). Not part of the entry's sealed
    # content, which holds its pupils' ids only.
    occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        Index("ix_message_pupil_pupil_id_message_id", "pupil_id", "message_id"),
        Index("ix_message_pupil_pupil_id_occurred_at", "pupil_id", "occurred_at", "message_id"),
    )


declare(MessagePupil, {"message_id": SEALED, "pupil_id": SEALED, "occurred_at": UNSEALED})


class MessageFlag(SQLModel, table=True):
    """One row per flag, so the log can be searched by flag through an index."""

    __tablename__ = "message_flag"

    message_id: int = Field(sa_column=Column(Integer, ForeignKey("message.id"), primary_key=True))
    flag: str = Field(sa_column=Column(String(30), primary_key=True))

    __table_args__ = (Index("ix_message_flag_flag_message_id", "flag", "message_id"),)


declare(MessageFlag, {"message_id": SEALED, "flag": SEALED})


class MessagePublic(SQLModel):
    id: int
    school_id: int
    contact_id: int
    staff_id: int
    direction: Direction
    occurred_at: Instant
    logged_at: datetime
    pupil_ids: list[int]
    device_tag: str
    device_registered: bool
    summary: str
    verbatim: str | None
    flags: list[Flag]
    amends_id: int | None
    amend_reason: str | None
    needs_review: bool
    reviewed_at: datetime | None


# ---------------------------------------------------------------- alerts


class AlertKind(StrEnum):
    approval_requested = "approval_requested"
    flagged_message = "flagged_message"
    consent_withdrawn = "consent_withdrawn"
    incident_reported = "incident_reported"


class Alert(SQLModel, table=True):
    """Something a person must be told by email; the scheduler turns these into outbox mail."""

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    kind: str = Field(sa_column=_str_column(30))
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    message_id: int | None = Field(default=None, foreign_key="message.id")
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    emailed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


not_a_record(Alert, "an email still to send; the change it tells of is in the change record")
