"""The directory's records: trusts, schools, staff and their roles, pupils, guardians, devices."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Annotated, ClassVar

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime
from core.roles import TRUST_ROLES, Role
from core.text import check_free_text, check_line

__all__ = ["TRUST_ROLES", "Role"]  # re-exported: their home is core/roles.py


def _as_text(value: object) -> object:
    """Dates and times come as ISO 8601 text; a bare number is not silently read as a timestamp."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("give dates and times as ISO 8601 text, e.g. 2026-11-24T16:05:00Z")
    if isinstance(value, str):
        # Any number written as text ("1700000000", "-2.2e-313", "nan") would be read as a
        # Unix timestamp: refused like a bare number.
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("give dates and times as ISO 8601 text, e.g. 2026-11-24T16:05:00Z")
    return value


# Every date and time a record holds lies in this span; anything outside it is a typing slip
# (or a probe), and near year 1 or 9999 turning a time into UTC would overflow.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def _in_span(value: date) -> date:
    # The year as written: checked before anything converts it between time zones.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


# An instant with its offset (naive times are refused), and a calendar day, both as ISO text.
Instant = Annotated[AwareDatetime, BeforeValidator(_as_text), AfterValidator(_in_span)]
Day = Annotated[date, BeforeValidator(_as_text), AfterValidator(_in_span)]

# Every record id fits the database's integer column; anything else is refused as invalid input.
MAX_RECORD_ID = 2_147_483_647
RecordId = Annotated[int, Interval(ge=1, le=MAX_RECORD_ID)]


def _stamp() -> Column[datetime]:
    return Column(UTCDateTime(), nullable=False)


def _each_text(value: object, check: Callable[[str], str]) -> object:
    if isinstance(value, str) and not isinstance(value, Enum):
        return check(value)
    if isinstance(value, list):
        return [_each_text(item, check) for item in value]
    return value


def _no_controls(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


class Forbid(SQLModel):
    """Input schemas refuse unknown fields, so nobody sets an id, school or role by stealth.

    Every text field is one line (no line breaks, controls or bidirectional overrides) unless
    the schema names it in `free_text`, where lines are allowed; see `core.text`.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)  # type: ignore[assignment]
    free_text: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: object, info: ValidationInfo) -> object:
        if info.field_name == "password":
            return _each_text(value, _no_controls)
        check = check_free_text if info.field_name in cls.free_text else check_line
        return _each_text(value, check)


# ---------------------------------------------------------------- trust and schools


class Trust(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=_stamp())
    # The trust's own reminder intervals; unset ones follow the deployment's settings.
    ending_notice_days: int | None = None
    reminder_every_days: int | None = None
    escalate_after_days: int | None = None
    approval_wait_hours: int | None = None
    # Its own policy (core/policy.py): consent asked for to a higher age, a larger review
    # sample, words added to the review lexicon (a JSON list).
    consent_age: int | None = None
    review_sample_rate: float | None = None
    extra_lexicon: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Its retention periods, when longer than the deployment's, and its DPO's address.
    retention_safeguarding_years: int | None = None
    retention_allegation_years: int | None = None
    retention_closed_contact_years: int | None = None
    dpo_email: str | None = Field(default=None, max_length=254)
    consent_requests_automatic: bool | None = None


class SchoolBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)


class SchoolCreate(SchoolBase, Forbid):
    pass


class SchoolPublic(SchoolBase):
    id: int
    trust_id: int
    created_at: datetime


class School(SchoolBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    trust_id: int = Field(foreign_key="trust.id", index=True)
    created_at: datetime = Field(sa_column=_stamp())


# ---------------------------------------------------------------- staff


class StaffBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr = Field(max_length=254)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class StaffCreate(StaffBase, Forbid):
    school_id: RecordId | None = None
    roles: list[Role] = Field(default_factory=lambda: [Role.staff], min_length=1)
    line_manager_id: RecordId | None = None
    is_headteacher: bool = False


class StaffUpdate(Forbid):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    roles: list[Role] | None = Field(default=None, min_length=1)
    line_manager_id: RecordId | None = None
    is_headteacher: bool | None = None
    is_active: bool | None = None

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class StaffPublic(StaffBase):
    id: int
    school_id: int
    roles: list[Role]
    line_manager_id: int | None
    is_headteacher: bool
    is_active: bool
    created_at: datetime
    # Granted, waiting for a second person to confirm (GET /pending-changes).
    pending_roles: list[Role] = []
    pending_headteacher: bool = False


class Staff(StaffBase, table=True):
    __table_args__ = (UniqueConstraint("email", name="uq_staff_email"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    line_manager_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True, index=True),
    )
    is_headteacher: bool = False
    is_active: bool = True
    password_hash: str | None = Field(default=None, max_length=512)
    # Raised to revoke every token issued before; tokens carry the generation they were issued in.
    token_generation: int = 0
    created_at: datetime = Field(sa_column=_stamp())


class StaffRole(SQLModel, table=True):
    __tablename__ = "staff_role"

    staff_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    )
    role: Role = Field(sa_column=Column(String(20), primary_key=True))


# ---------------------------------------------------------------- pupils and guardians


class PupilBase(SQLModel):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    school_reference: str = Field(min_length=1, max_length=50)
    # The day the pupil leaves the school: every contact with them ends then (§7, §5.6).
    left_on: date | None = None


class PupilCreate(PupilBase, Forbid):
    date_of_birth: Day
    left_on: Day | None = None
    school_id: RecordId | None = None


class PupilUpdate(Forbid):
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    date_of_birth: Day | None = None
    school_reference: str | None = Field(default=None, min_length=1, max_length=50)
    left_on: Day | None = None


class PupilPublic(PupilBase):
    id: int
    school_id: int
    created_at: datetime


class Pupil(PupilBase, table=True):
    __table_args__ = (
        UniqueConstraint("school_id", "school_reference", name="uq_pupil_school_reference"),
    )

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    created_at: datetime = Field(sa_column=_stamp())
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GuardianBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=50)
    email: EmailStr | None = Field(default=None, max_length=254)
    has_parental_responsibility: bool


class GuardianCreate(GuardianBase, Forbid):
    pass


class GuardianPublic(GuardianBase):
    id: int
    pupil_id: int
    created_at: datetime


class Guardian(GuardianBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    pupil_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("pupil.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(sa_column=_stamp())
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ---------------------------------------------------------------- devices


class DeviceBase(SQLModel):
    asset_tag: str = Field(min_length=1, max_length=50)
    description: str = Field(min_length=1, max_length=200)


class DeviceCreate(DeviceBase, Forbid):
    school_id: RecordId | None = None


class DeviceUpdate(Forbid):
    description: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None


class DevicePublic(DeviceBase):
    id: int
    school_id: int
    is_active: bool
    created_at: datetime


class Device(DeviceBase, table=True):
    __table_args__ = (UniqueConstraint("school_id", "asset_tag", name="uq_device_asset_tag"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    is_active: bool = True
    created_at: datetime = Field(sa_column=_stamp())


class ChangeKind(StrEnum):
    grant = "grant"  # roles to add, and/or the headteacher mark
    mfa_reset = "mfa_reset"  # the person's second factor is removed, to enrol again
    pupil_dates = "pupil_dates"  # a pupil's date of birth and/or leaving date


class ChangeState(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    refused = "refused"
    expired = "expired"


class PendingChange(SQLModel, table=True):
    __tablename__ = "pending_change"

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    # The member of staff concerned, or (pupil_dates) the pupil.
    staff_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True)
    )
    pupil_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("pupil.id"), nullable=True)
    )
    kind: str = Field(max_length=20)
    # Comma-separated roles to add; the headteacher mark as a flag.
    grant_roles: str = Field(default="", max_length=200)
    make_headteacher: bool = False
    new_email: str | None = Field(default=None, max_length=254)
    # A pupil's dates: the values proposed, and those they replace (kept, sealed with the
    # proposal, so the change record holds what the date was, not only that it changed).
    new_date_of_birth: date | None = None
    old_date_of_birth: date | None = None
    new_left_on: date | None = None
    old_left_on: date | None = None
    changes_left_on: bool = False
    proposed_by_id: int | None = Field(default=None, foreign_key="staff.id")
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default=ChangeState.pending, max_length=10, index=True)
    decided_by_id: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def roles(self) -> list[Role]:
        return [Role(r) for r in self.grant_roles.split(",") if r]


class PendingChangePublic(BaseModel):
    id: int
    school_id: int
    staff_id: int | None
    pupil_id: int | None = None
    kind: ChangeKind
    grant_roles: list[Role]
    make_headteacher: bool
    new_email: str | None
    new_date_of_birth: date | None = None
    old_date_of_birth: date | None = None
    new_left_on: date | None = None
    old_left_on: date | None = None
    changes_left_on: bool = False
    proposed_by_id: int | None
    proposed_at: datetime
    expires_at: datetime
    state: ChangeState
    decided_by_id: int | None
    decided_at: datetime | None
