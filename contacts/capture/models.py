"""What the platforms themselves captured on a school-owned account, kept as records of their
own: each upload (its file's SHA-256, who, when, from which device; the file itself, under
retention), each captured message (who took part, which way, when, what was said, which
upload brought it), and the names the exports give people, known as a pupil or as the school."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.columns import PERSONAL, SEALED, SHOWN, declare, not_a_record
from core.db import UTCDateTime


class Source(StrEnum):
    """Where captured messages came from."""

    whatsapp_export = "whatsapp_export"
    whatsapp_webhook = "whatsapp_webhook"
    meta_export = "meta_export"
    google_chat_export = "google_chat_export"
    teams_graph = "teams_graph"


class Finding(StrEnum):
    """A captured message against the log."""

    logged = "logged"  # a logged entry covers it
    not_logged = "not_logged"  # on an approved contact, and in no logged entry
    outside_contact = "outside_contact"  # no approved contact covers it: a breach
    unknown_participant = "unknown_participant"  # someone the school has not named


class CaptureUpload(SQLModel, table=True):
    __tablename__ = "capture_upload"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    platform: str = Field(max_length=20)
    school_account: str = Field(max_length=200)
    source: str = Field(max_length=30)
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    size: int
    # Who uploaded it; None for a platform's own delivery (the WhatsApp Business webhook).
    uploaded_by_id: int | None = Field(default=None, foreign_key="staff.id")
    uploaded_at: datetime = Field(sa_type=UTCDateTime)
    # From which device: the registered device it came from, else what the browser said it was.
    device: str = Field(max_length=200)
    zone: str = Field(max_length=60)
    messages: int
    new_messages: int
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # The same file uploaded again is recognised, not stored twice.
    __table_args__ = (UniqueConstraint("school_id", "sha256"),)


declare(
    CaptureUpload,
    {
        "id": SEALED | SHOWN,
        "school_id": SEALED,
        "platform": SEALED | SHOWN,
        "school_account": SEALED | SHOWN,
        "source": SEALED | SHOWN,
        "file_name": SEALED | PERSONAL,
        "sha256": SEALED | SHOWN,
        "size": SEALED,
        "uploaded_by_id": SEALED,
        "uploaded_at": SEALED | SHOWN,
        "device": SEALED,
        "zone": SEALED,
        "messages": SEALED,
        "new_messages": SEALED,
        "redacted_at": SEALED,
    },
)


class CaptureFile(SQLModel, table=True):
    """The file as uploaded, apart from its record so that lists never read it; removed (its
    hash stays sealed) when retention redacts the upload."""

    __tablename__ = "capture_file"

    upload_id: int = Field(
        sa_column=Column(Integer, ForeignKey("capture_upload.id"), primary_key=True)
    )
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


not_a_record(CaptureFile, "the uploaded file itself: its SHA-256 is sealed in its upload")


class CapturedMessage(SQLModel, table=True):
    __tablename__ = "captured_message"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    upload_id: int = Field(foreign_key="capture_upload.id", index=True)
    platform: str = Field(max_length=20)
    school_account: str = Field(max_length=200)
    conversation: str = Field(max_length=200)
    sender: str = Field(max_length=200)
    direction: str = Field(sa_column=Column(String(10), nullable=False))
    sent_at: datetime = Field(sa_type=UTCDateTime)
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    attachment: str | None = Field(default=None, max_length=300)
    deleted: bool = False
    edited: bool = False
    # Where in its upload (the file inside a zip, and the line or place in the list).
    source_file: str = Field(max_length=500)
    source_line: int
    # One per message however many uploads hold it (core of the overlap rule).
    fingerprint: str = Field(max_length=64)
    # The contact of that school account it falls under, and its holder, if any.
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    finding: str = Field(sa_column=Column(String(30), nullable=False))
    # Which rules it broke, as a logged entry's flags are written (comma-separated).
    flags: str = Field(default="", max_length=300)
    # Names in it no one has said who they are.
    unknown: str = Field(default="", max_length=500)
    matched_message_id: int | None = Field(default=None, foreign_key="message.id")
    # The flagged entry it became when it stayed unlogged past the trust's period.
    flagged_message_id: int | None = Field(default=None, foreign_key="message.id")
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        UniqueConstraint("school_id", "fingerprint"),
        Index("ix_captured_message_contact_sent_at", "contact_id", "sent_at"),
        Index("ix_captured_message_finding_sent_at", "finding", "sent_at"),
    )


declare(
    CapturedMessage,
    {
        "id": SEALED | SHOWN,
        "school_id": SEALED,
        "upload_id": SEALED | SHOWN,
        "platform": SEALED | SHOWN,
        "school_account": SEALED | SHOWN,
        "conversation": SEALED | PERSONAL,
        "sender": SEALED | PERSONAL,
        "direction": SEALED | SHOWN,
        "sent_at": SEALED | SHOWN,
        # The words are the DSL's to read, as a logged entry's verbatim text is.
        "content": SEALED | PERSONAL | SHOWN,
        "attachment": SEALED | PERSONAL,
        "deleted": SEALED,
        "edited": SEALED,
        "source_file": SEALED | PERSONAL,
        "source_line": SEALED,
        "fingerprint": SEALED,
        "contact_id": SEALED | SHOWN,
        "staff_id": SEALED,
        "finding": SEALED | SHOWN,
        "flags": SEALED | SHOWN,
        "unknown": SEALED | PERSONAL,
        "matched_message_id": SEALED | SHOWN,
        "flagged_message_id": SEALED | SHOWN,
        "redacted_at": SEALED,
    },
)


class CapturedPupil(SQLModel, table=True):
    """A pupil who took part in a captured message, as the school's names for them say."""

    __tablename__ = "captured_pupil"

    captured_id: int = Field(
        sa_column=Column(Integer, ForeignKey("captured_message.id"), primary_key=True)
    )
    pupil_id: int = Field(sa_column=Column(Integer, ForeignKey("pupil.id"), primary_key=True))


declare(CapturedPupil, {"captured_id": SEALED, "pupil_id": SEALED})


class WhatsAppNumber(SQLModel, table=True):
    """A school-owned WhatsApp Business number whose deliveries the webhook takes: which school,
    and which school account (as its contacts name it) the number is."""

    __tablename__ = "whatsapp_number"

    phone_number_id: str = Field(primary_key=True, max_length=40)
    school_id: int = Field(foreign_key="school.id", index=True)
    school_account: str = Field(max_length=200)
    added_at: datetime = Field(sa_type=UTCDateTime)


not_a_record(WhatsAppNumber, "configuration: which school a WhatsApp Business number is")


class CaptureName(SQLModel, table=True):
    """Who a name in a platform's export is: a pupil, or the school account itself. Said once
    (at an upload) and used for every later one; changing it is on the record."""

    __tablename__ = "capture_name"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    platform: str = Field(max_length=20)
    school_account: str = Field(max_length=200)
    name: str = Field(max_length=200)
    pupil_id: int | None = Field(default=None, foreign_key="pupil.id")
    is_school: bool = False
    named_by_id: int = Field(foreign_key="staff.id")
    named_at: datetime = Field(sa_type=UTCDateTime)
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (UniqueConstraint("school_id", "platform", "school_account", "name"),)


declare(
    CaptureName,
    {
        "id": SEALED,
        "school_id": SEALED,
        "platform": SEALED,
        "school_account": SEALED,
        "name": SEALED | PERSONAL,
        "pupil_id": SEALED,
        "is_school": SEALED,
        "named_by_id": SEALED,
        "named_at": SEALED,
        "redacted_at": SEALED,
    },
)
