"""Incidents (§5.2, §4.2): unsolicited or chance contact and abuse, and their discussion."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import model_validator
from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from contacts.models import Platform
from core.columns import (
    FREE_TEXT,
    PERSONAL,
    SEALED,
    SHOWN,
    declare,
    free_text_of,
)
from core.db import UTCDateTime
from core.inputs import Forbid, Instant, RecordId


class IncidentKind(StrEnum):
    unsolicited_contact = "unsolicited_contact"
    chance_contact = "chance_contact"
    harassment_or_abuse = "harassment_or_abuse"
    other = "other"


class PupilPart(StrEnum):
    """A pupil's part in an incident: a victim and an instigator are not the same."""

    initiated = "initiated"
    received = "received"
    victim = "victim"
    instigator = "instigator"
    witness = "witness"
    other = "other"


class IncidentPupilIn(Forbid):
    pupil_id: RecordId
    part: PupilPart


class Incident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    reporter_id: int = Field(foreign_key="staff.id", index=True)
    kind: str = Field(sa_column=Column(String(30), nullable=False))
    platform: str = Field(sa_column=Column(String(20), nullable=False))
    platform_name: str | None = Field(default=None, max_length=100)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    reported_at: datetime = Field(sa_type=UTCDateTime)
    what_happened: str = Field(sa_column=Column(Text, nullable=False))
    personal_information_shared: bool
    other_person: str | None = Field(default=None, max_length=200)
    discussed_with_id: int | None = Field(default=None, foreign_key="staff.id")
    discussed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    parent_involved: bool | None = None
    # When the retention job removed its personal content (contacts/data_protection/retention).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The other person is shown to the subject only as "[third party]".
declare(
    Incident,
    {
        "id": SEALED | SHOWN,
        "school_id": SEALED,
        "reporter_id": SEALED,
        "kind": SEALED | SHOWN,
        "platform": SEALED | SHOWN,
        "platform_name": SEALED | SHOWN,
        "occurred_at": SEALED | SHOWN,
        "reported_at": SEALED | SHOWN,
        "what_happened": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "personal_information_shared": SEALED | SHOWN,
        "other_person": SEALED | PERSONAL,
        "discussed_with_id": SEALED,
        "discussed_at": SEALED | SHOWN,
        "outcome": SEALED | PERSONAL | FREE_TEXT | SHOWN,
        "parent_involved": SEALED | SHOWN,
        "redacted_at": SEALED,
    },
)


class DiscussionCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(Incident)
    discussed_at: Instant
    outcome: str = Field(min_length=1, max_length=5000)
    parent_involved: bool


class IncidentCreate(Forbid):
    free_text: ClassVar[frozenset[str]] = free_text_of(Incident)
    kind: IncidentKind
    platform: Platform
    platform_name: str | None = Field(default=None, min_length=1, max_length=100)
    occurred_at: Instant
    what_happened: str = Field(min_length=1, max_length=5000)
    personal_information_shared: bool
    pupils: list[IncidentPupilIn] = Field(default_factory=list, max_length=50)
    other_person: str | None = Field(
        default=None, min_length=1, max_length=200, description="A parent or someone else"
    )

    @model_validator(mode="after")
    def _someone(self) -> IncidentCreate:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a time zone offset")
        if not self.pupils and not self.other_person:
            raise ValueError("name the pupils involved, or the other person")
        if len({p.pupil_id for p in self.pupils}) != len(self.pupils):
            raise ValueError("each pupil once, with their part")
        return self


class IncidentPupil(SQLModel, table=True):
    __tablename__ = "incident_pupil"

    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incident.id"), primary_key=True))
    pupil_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pupil.id"), primary_key=True, index=True)
    )
    part: str = Field(sa_column=Column(String(20), nullable=False))
    # The pupil's date of birth as it stood when the incident was reported, sealed with it:
    # retention counts from this, so no later edit of the pupil can shorten the period.
    born_on: date


declare(
    IncidentPupil,
    {"incident_id": SEALED, "pupil_id": SEALED, "part": SEALED | SHOWN, "born_on": SEALED},
)


class IncidentPublic(SQLModel):
    id: int
    school_id: int
    reporter_id: int
    kind: IncidentKind
    platform: Platform
    platform_name: str | None
    occurred_at: datetime
    reported_at: datetime
    what_happened: str
    personal_information_shared: bool
    other_person: str | None
    pupils: list[IncidentPupilIn]
    open: bool
    discussed_with_id: int | None
    discussed_at: datetime | None
    outcome: str | None
    parent_involved: bool | None
