"""A concern about an adult (KCSIE Part 4): who it is about, who raised it, what happened, and
its case file — notes and decisions, referrals, actions, attachments and the outcome."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.columns import FREE_TEXT, PERSONAL, SEALED, UNSEALED, declare, not_a_record
from core.db import UTCDateTime


class ConcernKind(StrEnum):
    low_level = "low_level"  # a "nagging doubt": conduct short of the harm threshold
    allegation = "allegation"  # meets the harm threshold: the LADO within one working day


class SubjectKind(StrEnum):
    staff = "staff"  # a member of staff with an account
    volunteer = "volunteer"
    contractor = "contractor"
    other = "other"  # someone else working with the school's pupils, by name


class OnBehalfOf(StrEnum):
    """Whose concern the raiser recorded, when it is not their own: their identity is kept
    from everyone but the case's readers."""

    pupil = "pupil"
    parent = "parent"
    other = "other"


class Outcome(StrEnum):
    # An allegation's (KCSIE Part 4: the definitions used when an allegation is concluded).
    substantiated = "substantiated"
    unsubstantiated = "unsubstantiated"
    unfounded = "unfounded"
    false = "false"
    malicious = "malicious"
    # A low-level concern's.
    addressed = "addressed"  # dealt with: advice, support or training
    no_further_action = "no_further_action"


ALLEGATION_OUTCOMES = frozenset(
    {
        Outcome.substantiated,
        Outcome.unsubstantiated,
        Outcome.unfounded,
        Outcome.false,
        Outcome.malicious,
    }
)


class Agency(StrEnum):
    lado = "lado"  # the local authority's designated officer
    police = "police"
    dbs = "dbs"  # the Disclosure and Barring Service
    tra = "tra"  # the Teaching Regulation Agency
    other = "other"


class NoteKind(StrEnum):
    note = "note"
    decision = "decision"  # with its reason: a decision not to refer is one too


class Concern(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    subject_kind: str = Field(sa_column=Column(String(20), nullable=False))
    subject_staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    subject_name: str | None = Field(default=None, max_length=200)
    # Fixed when raised: a concern about the headteacher goes to the case manager, and stays
    # theirs whatever the headteacher flag says later.
    about_headteacher: bool = False
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    raised_by_id: int = Field(foreign_key="staff.id")
    raised_at: datetime = Field(sa_type=UTCDateTime)
    self_report: bool = False
    on_behalf_of: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    source_name: str | None = Field(default=None, max_length=200)
    happened_at: datetime = Field(sa_type=UTCDateTime)
    what_happened: str = Field(sa_column=Column(Text, nullable=False))
    platform: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    platform_name: str | None = Field(default=None, max_length=100)
    # An allegation: the LADO is told within one working day of it being raised.
    lado_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hold_id: int | None = Field(default=None, foreign_key="legal_hold.id")
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by_id: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str | None = Field(default=None, sa_column=Column(String(30), nullable=True))
    outcome_on: date | None = None
    outcome_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the scheduler told its readers it was raised (a stamp: the email is the event).
    told_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


declare(
    Concern,
    {
        **dict.fromkeys(
            (
                "id",
                "school_id",
                "subject_kind",
                "subject_staff_id",
                "about_headteacher",
                "kind",
                "raised_by_id",
                "raised_at",
                "self_report",
                "on_behalf_of",
                "happened_at",
                "platform",
                "lado_due_at",
                "hold_id",
                "closed_at",
                "closed_by_id",
                "outcome",
                "outcome_on",
                "redacted_at",
            ),
            SEALED,
        ),
        "subject_name": SEALED | PERSONAL,
        "source_name": SEALED | PERSONAL,
        "what_happened": SEALED | PERSONAL | FREE_TEXT,
        "platform_name": SEALED,
        "outcome_reason": SEALED | PERSONAL | FREE_TEXT,
        "told_at": UNSEALED,
    },
)


class RecordKind(StrEnum):
    """The records a concern may point to."""

    contact = "contact"
    message = "message"
    incident = "incident"
    captured_message = "captured_message"


class ConcernRecord(SQLModel, table=True):
    __tablename__ = "concern_record"

    concern_id: int = Field(sa_column=Column(Integer, ForeignKey("concern.id"), primary_key=True))
    record_type: str = Field(sa_column=Column(String(20), primary_key=True))
    record_id: int = Field(sa_column=Column(Integer, primary_key=True))


declare(ConcernRecord, dict.fromkeys(("concern_id", "record_type", "record_id"), SEALED))


class ConcernNote(SQLModel, table=True):
    __tablename__ = "concern_note"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    written_by_id: int = Field(foreign_key="staff.id")
    written_at: datetime = Field(sa_type=UTCDateTime)


declare(
    ConcernNote,
    {
        **dict.fromkeys(("id", "concern_id", "kind", "written_by_id", "written_at"), SEALED),
        "text": SEALED | PERSONAL | FREE_TEXT,
        "reason": SEALED | PERSONAL | FREE_TEXT,
    },
)


class ConcernReferral(SQLModel, table=True):
    __tablename__ = "concern_referral"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    agency: str = Field(sa_column=Column(String(20), nullable=False))
    referred_on: date
    officer: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=100)
    advice: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by_id: int = Field(foreign_key="staff.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


declare(
    ConcernReferral,
    {
        **dict.fromkeys(("id", "concern_id", "agency", "referred_on", "reference"), SEALED),
        **dict.fromkeys(("recorded_by_id", "recorded_at"), SEALED),
        "officer": SEALED | PERSONAL,
        "advice": SEALED | PERSONAL | FREE_TEXT,
    },
)


class ConcernAction(SQLModel, table=True):
    __tablename__ = "concern_action"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    what: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int = Field(foreign_key="staff.id")
    due_on: date
    set_by_id: int = Field(foreign_key="staff.id")
    set_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by_id: int | None = Field(default=None, foreign_key="staff.id")


declare(
    ConcernAction,
    {
        **dict.fromkeys(
            ("id", "concern_id", "owner_id", "due_on", "set_by_id", "set_at", "done_at"), SEALED
        ),
        "done_by_id": SEALED,
        "what": SEALED | PERSONAL | FREE_TEXT,
    },
)


class ConcernAttachment(SQLModel, table=True):
    __tablename__ = "concern_attachment"
    __table_args__ = (UniqueConstraint("concern_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    # As the person's computer named it: shown, never used as a path.
    file_name: str = Field(max_length=255)
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    description: str | None = Field(default=None, max_length=500)
    added_by_id: int = Field(foreign_key="staff.id")
    added_at: datetime = Field(sa_type=UTCDateTime)


declare(
    ConcernAttachment,
    {
        **dict.fromkeys(
            ("id", "concern_id", "media_type", "size", "sha256", "added_by_id", "added_at"),
            SEALED,
        ),
        "file_name": SEALED | PERSONAL,
        "description": SEALED | PERSONAL,
    },
)


class ConcernFile(SQLModel, table=True):
    """An attachment's bytes, apart from its record: its SHA-256 is sealed in the attachment,
    so a file swapped in the database no longer matches; retention empties it."""

    __tablename__ = "concern_file"

    attachment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("concern_attachment.id"), primary_key=True)
    )
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


not_a_record(ConcernFile, "an attachment's file itself: its SHA-256 is sealed in its attachment")
