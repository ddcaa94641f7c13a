"""The directory's records: trusts, schools, staff and their roles, pupils, guardians, devices."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import (
    BaseModel,
    EmailStr,
    field_validator,
)
from sqlalchemy import Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.columns import PERSONAL, SEALED, SHOWN, TOLD, UNSEALED, declare
from core.db import UTCDateTime
from core.inputs import Day, Forbid, RecordId
from core.roles import TRUST_ROLES, Role

__all__ = ["TRUST_ROLES", "Role"]  # re-exported: their home is core/roles.py


def _stamp() -> Column[datetime]:
    return Column(UTCDateTime(), nullable=False)


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
    # Concerns about adults: low-level concerns kept this many years after the person leaves,
    # and the review of repeated ones every this many weeks.
    retention_low_level_years: int | None = None
    concern_review_weeks: int | None = None


# A trust's row holds its policy: an edit made in the database is named by verification.
declare(
    Trust,
    {
        **dict.fromkeys(("id", "name", "created_at", "ending_notice_days"), SEALED),
        **dict.fromkeys(("reminder_every_days", "escalate_after_days"), SEALED),
        **dict.fromkeys(("approval_wait_hours", "consent_age", "review_sample_rate"), SEALED),
        **dict.fromkeys(("extra_lexicon", "retention_safeguarding_years"), SEALED),
        **dict.fromkeys(("retention_allegation_years", "retention_closed_contact_years"), SEALED),
        **dict.fromkeys(("dpo_email", "consent_requests_automatic"), SEALED),
        **dict.fromkeys(("retention_low_level_years", "concern_review_weeks"), SEALED),
    },
)


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


declare(
    School,
    {
        "id": SEALED,
        "trust_id": SEALED,
        "name": SEALED | TOLD,
        "timezone": SEALED,
        "created_at": SEALED,
    },
)


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
    # Invited and not yet joined: the invitation's link has not been used to choose a password.
    has_joined: bool = True
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
    # The day the account was deactivated (they left): low-level concerns about them are kept
    # from then for the trust's period. Cleared if they come back.
    left_on: date | None = None
    password_hash: str | None = Field(default=None, max_length=512)
    # Raised to revoke every token issued before; tokens carry the generation they were issued in.
    token_generation: int = 0
    created_at: datetime = Field(sa_column=_stamp())


# Staff appear in records in their professional role: their names are not redacted, and the
# holder's name is what a parent is told. The password and the token generation are secrets.
declare(
    Staff,
    {
        "id": SEALED,
        "school_id": SEALED,
        "name": SEALED | SHOWN | TOLD,
        "email": SEALED | SHOWN,
        "line_manager_id": SEALED,
        "is_headteacher": SEALED | SHOWN,
        "is_active": SEALED | SHOWN,
        "left_on": SEALED | SHOWN,
        "password_hash": UNSEALED,
        "token_generation": UNSEALED,
        "created_at": SEALED | SHOWN,
    },
)


class StaffRole(SQLModel, table=True):
    __tablename__ = "staff_role"

    staff_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    )
    role: Role = Field(sa_column=Column(String(20), primary_key=True))


declare(StaffRole, {"staff_id": SEALED, "role": SEALED | SHOWN})


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


# Redaction keeps the year of birth and replaces the reference by one made from the id
# (contacts/data_protection/retention/redaction.py); the names go.
declare(
    Pupil,
    {
        "id": SEALED,
        "school_id": SEALED,
        "given_name": SEALED | PERSONAL | SHOWN | TOLD,
        "family_name": SEALED | PERSONAL | SHOWN | TOLD,
        "date_of_birth": SEALED | PERSONAL | SHOWN,
        "school_reference": SEALED | PERSONAL | SHOWN,
        "left_on": SEALED | SHOWN,
        "created_at": SEALED,
        "redacted_at": SEALED,
    },
)


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


# To the pupil's own request a parent is a third party: their name is never shown to the pupil.
declare(
    Guardian,
    {
        "id": SEALED,
        "pupil_id": SEALED,
        "name": SEALED | PERSONAL | TOLD,
        "relationship": SEALED | SHOWN,
        "email": SEALED | PERSONAL,
        "has_parental_responsibility": SEALED | SHOWN,
        "created_at": SEALED,
        "redacted_at": SEALED,
    },
)


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


declare(
    Device,
    {
        **dict.fromkeys(("id", "school_id", "asset_tag", "description"), SEALED),
        **dict.fromkeys(("is_active", "created_at"), SEALED),
    },
)


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


# Everything about a proposed change is content, the values it replaces included.
declare(
    PendingChange,
    dict.fromkeys(
        (
            *("id", "school_id", "staff_id", "pupil_id", "kind", "grant_roles"),
            *("make_headteacher", "new_email", "new_date_of_birth", "old_date_of_birth"),
            *("new_left_on", "old_left_on", "changes_left_on", "proposed_by_id"),
            *("proposed_at", "expires_at", "state", "decided_by_id", "decided_at"),
        ),
        SEALED,
    ),
)


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
