"""What a concern's routes and pages take in and give out: the raiser's concern and receipt,
the case file's additions, and the case file as its readers see it."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from contacts.concerns.models import (
    Agency,
    Concern,
    ConcernAction,
    ConcernKind,
    ConcernNote,
    ConcernReferral,
    NoteKind,
    OnBehalfOf,
    Outcome,
    RecordKind,
    SubjectKind,
)
from contacts.models import Platform
from core.columns import free_text_of
from core.inputs import Day, Forbid, Instant, RecordId

# ---------------------------------------------------------------- what comes in


class RecordRef(Forbid):
    record_type: RecordKind
    record_id: RecordId


class ConcernCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(Concern)
    kind: ConcernKind
    subject_kind: SubjectKind = SubjectKind.staff
    subject_staff_id: RecordId | None = None
    subject_name: str | None = Field(default=None, min_length=1, max_length=200)
    on_behalf_of: OnBehalfOf | None = None
    source_name: str | None = Field(default=None, min_length=1, max_length=200)
    happened_at: Instant
    what_happened: str = Field(min_length=1, max_length=10000)
    platform: Platform | None = None
    platform_name: str | None = Field(default=None, min_length=1, max_length=100)
    records: list[RecordRef] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _whom(self) -> ConcernCreate:
        if self.subject_kind == SubjectKind.staff:
            if self.subject_staff_id is None:
                raise ValueError("name the member of staff it is about (subject_staff_id)")
            if self.subject_name is not None:
                raise ValueError("subject_name is for someone without an account")
        else:
            if self.subject_name is None:
                raise ValueError("name the person it is about (subject_name)")
            if self.subject_staff_id is not None:
                raise ValueError("subject_staff_id is for a member of staff")
        if self.on_behalf_of is None and self.source_name is not None:
            raise ValueError("source_name is for a concern recorded on someone's behalf")
        if self.platform == Platform.other and self.platform_name is None:
            raise ValueError("name the platform (platform_name)")
        if len({(r.record_type, r.record_id) for r in self.records}) != len(self.records):
            raise ValueError("each record once")
        return self


class NoteCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(ConcernNote)
    kind: NoteKind = NoteKind.note
    text: str = Field(min_length=1, max_length=10000)
    reason: str | None = Field(default=None, min_length=1, max_length=5000)

    @model_validator(mode="after")
    def _reasoned(self) -> NoteCreate:
        if self.kind == NoteKind.decision and self.reason is None:
            raise ValueError("a decision says why (reason)")
        return self


class ReferralCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(ConcernReferral)
    agency: Agency = Agency.lado
    referred_on: Day
    officer: str | None = Field(default=None, min_length=1, max_length=200)
    reference: str | None = Field(default=None, min_length=1, max_length=100)
    advice: str | None = Field(default=None, min_length=1, max_length=10000)


class OutcomeCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(Concern, reason="outcome_reason")
    outcome: Outcome
    outcome_on: Day
    reason: str = Field(min_length=1, max_length=10000)


class KindChange(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(ConcernNote)
    kind: ConcernKind
    reason: str = Field(min_length=1, max_length=5000)


class ActionCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(ConcernAction)
    what: str = Field(min_length=1, max_length=2000)
    owner_id: RecordId
    due_on: Day


# ---------------------------------------------------------------- what goes out


class Receipt(SQLModel):
    """All the raiser sees once it is submitted."""

    id: int
    received_at: datetime
    status: str = "received"


class NotePublic(SQLModel):
    id: int
    kind: NoteKind
    text: str
    reason: str | None
    written_by_id: int
    written_by: str
    written_at: datetime


class ReferralPublic(SQLModel):
    id: int
    agency: Agency
    referred_on: date
    officer: str | None
    reference: str | None
    advice: str | None
    recorded_by_id: int
    recorded_by: str
    recorded_at: datetime


class ActionPublic(SQLModel):
    id: int
    what: str
    owner_id: int
    owner: str
    due_on: date
    set_by_id: int
    set_at: datetime
    done_at: datetime | None
    overdue: bool


class AttachmentPublic(SQLModel):
    id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    description: str | None
    added_by_id: int
    added_by: str
    added_at: datetime


class ConcernSummary(SQLModel):
    """A concern as its readers' list shows it."""

    id: int
    school_id: int
    kind: ConcernKind
    subject_kind: SubjectKind
    subject_staff_id: int | None
    subject: str
    about_headteacher: bool
    raised_at: datetime
    self_report: bool
    open: bool
    outcome: Outcome | None
    lado_due_at: datetime | None
    lado_referred: bool
    lado_overdue: bool


class ConcernPublic(ConcernSummary):
    raised_by_id: int
    raised_by: str
    on_behalf_of: OnBehalfOf | None
    source_name: str | None
    happened_at: datetime
    what_happened: str
    platform: Platform | None
    platform_name: str | None
    records: list[RecordRef]
    hold_id: int | None
    closed_at: datetime | None
    closed_by_id: int | None
    outcome_on: date | None
    outcome_reason: str | None
    notes: list[NotePublic]
    referrals: list[ReferralPublic]
    actions: list[ActionPublic]
    attachments: list[AttachmentPublic]
