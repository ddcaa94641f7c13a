"""How a chronology's entries read: each record in a sentence, with people by name (as far as
the reader may know them), dates as dates and flags in words; never a bare number for a
person."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from consent.models import Consent, ConsentRequest, ParentNotice
from contacts.capture.models import CapturedMessage
from contacts.flags import in_words
from contacts.incidents.models import Incident
from contacts.models import Contact, ContactPupil, DeletionTask, Message, platform_name
from core.directory.names import guardian_names, pupil_names, staff_names
from core.models import OutboxEmail
from core.principal import Principal


class ChronologyEntry(BaseModel):
    at: datetime
    type: str
    object_type: str
    object_id: int
    contact_id: int | None = None
    summary: str
    link: str


@dataclass(frozen=True)
class Key:
    """Where an entry stands: newest first, then by type, record and part (a pupil's ending)."""

    at: datetime
    type: str
    object_type: str
    object_id: int
    part: int


MODELS: dict[str, Any] = {
    "contact": Contact,
    "consent": Consent,
    "deletion_task": DeletionTask,
    "message": Message,
    "incident": Incident,
    "email": OutboxEmail,
    "parent_notice": ParentNotice,
    "consent_request": ConsentRequest,
    "captured_message": CapturedMessage,
}
# What a captured message no entry covers is, in words.
CAPTURED = {
    "not_logged": "not in the log",
    "unknown_participant": "with someone not named, not in the log",
    "outside_contact": "outside an approved contact",
}


def _by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row.id: row for row in session.exec(select(model).where(col(model.id).in_(wanted)))}


def _on(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Names:
    """The people a page of entries mentions, as its reader may know them."""

    staff: dict[int, str]
    pupils: dict[int, str]
    guardians: dict[int, str]

    def of_staff(self, staff_id: int | None) -> str:
        return self.staff.get(staff_id or 0, "a member of staff")

    def of_pupil(self, pupil_id: int) -> str:
        return self.pupils.get(pupil_id, "a pupil")

    def of_guardian(self, guardian_id: int) -> str:
        return self.guardians.get(guardian_id, "a parent or carer")


def describe(session: Session, reader: Principal, keys: list[Key]) -> list[ChronologyEntry]:
    wanted: dict[str, list[int]] = defaultdict(list)
    for k in keys:
        wanted[k.object_type].append(k.object_id)
    rows = {name: _by_id(session, model, wanted[name]) for name, model in MODELS.items()}
    ends = {
        (e.contact_id, e.pupil_id): e
        for e in session.exec(
            select(ContactPupil).where(col(ContactPupil.contact_id).in_(wanted["contact"] or [0]))
        )
    }
    named = Names(
        staff=staff_names(
            session,
            reader,
            [
                *(c.staff_id for c in rows["contact"].values()),
                *(c.decided_by_id for c in rows["contact"].values()),
                *(i.discussed_with_id for i in rows["incident"].values()),
                *(e.to_staff_id for e in rows["email"].values()),
                *(r.resolved_by_id for r in rows["consent_request"].values()),
            ],
        ),
        pupils=pupil_names(
            session,
            reader,
            [
                *(k.part for k in keys if k.type == "contact.ended" and k.part),
                *(r.pupil_id for r in rows["consent_request"].values()),
            ],
        ),
        guardians=guardian_names(
            session,
            reader,
            [
                *(c.guardian_id for c in rows["consent"].values()),
                *(r.guardian_id for r in rows["consent_request"].values()),
            ],
        ),
    )
    return [_entry(k, rows[k.object_type][k.object_id], ends, named) for k in keys]


def _entry(
    k: Key, row: Any, ends: dict[tuple[int, int], ContactPupil], named: Names
) -> ChronologyEntry:
    describe: dict[str, Callable[[], tuple[int | None, str, str]]] = {
        "contact.requested": lambda: (
            row.id,
            f"/contacts/{row.id}",
            f"{named.of_staff(row.staff_id)} asked for {platform_name(row.platform)} contact",
        ),
        "contact.ended": lambda: (
            row.id,
            f"/contacts/{row.id}",
            f"Ended for {named.of_pupil(k.part)}: {ends[(row.id, k.part)].end_reason}",
        ),
        "consent.recorded": lambda: (
            row.contact_id,
            f"/pupils/{row.pupil_id}/consents",
            f"Consent given on {_on(row.given_on)} by {named.of_guardian(row.guardian_id)}",
        ),
        "consent.withdrawn": lambda: (
            row.contact_id,
            f"/pupils/{row.pupil_id}/consents",
            f"Consent withdrawn from {_on(row.withdrawn_on)}",
        ),
        "deletion.confirmed": lambda: (
            row.contact_id,
            f"/contacts/{row.contact_id}",
            f"Contact method deleted: {row.how}",
        ),
        "incident.reported": lambda: (
            None,
            f"/incidents/{row.id}",
            f"{row.kind.replace('_', ' ').capitalize()} on "
            f"{platform_name(row.platform, row.platform_name)}",
        ),
        "incident.discussed": lambda: (
            None,
            f"/incidents/{row.id}",
            f"Discussed with {named.of_staff(row.discussed_with_id)}",
        ),
        "consent_request.declined": lambda: (
            row.contact_id,
            f"/contacts/{row.contact_id}/consent-requests",
            f"{named.of_guardian(row.guardian_id)} refused consent for "
            f"{named.of_pupil(row.pupil_id)}"
            + (f": {row.decline_reason}" if row.decline_reason else ""),
        ),
        "consent_request.resolved": lambda: (
            row.contact_id,
            f"/contacts/{row.contact_id}/consent-requests",
            f"Refusal resolved by {named.of_staff(row.resolved_by_id)}: {row.resolution}",
        ),
        "parent_notice.recorded": lambda: (
            row.contact_id,
            f"/pupils/{row.pupil_id}/parent-notices",
            f"Parents informed on {_on(row.informed_on)} by {row.informed_by}",
        ),
    }
    if k.type in describe:
        contact_id, link, summary = describe[k.type]()
    elif k.object_type == "contact":  # the decision: contact.approved or contact.rejected
        verdict = "Approved" if k.type == "contact.approved" else "Refused"
        contact_id, link = row.id, f"/contacts/{row.id}"
        summary = f"{verdict} by {named.of_staff(row.decided_by_id)}"
    elif k.object_type == "captured_message":
        contact_id, link = row.contact_id, f"/contacts/{row.contact_id}/reconciliation"
        way = "Sent" if row.direction == "sent" else "Received"
        broken = f" ({row.flags.replace(',', ', ').replace('_', ' ')})" if row.flags else ""
        made = ", made a flagged entry" if row.flagged_message_id else ""
        summary = (
            f"{way} on {platform_name(row.platform)}, captured by the platform: "
            f"{CAPTURED.get(row.finding, row.finding)}{broken}{made}"
        )
    elif k.object_type == "message":
        flags = f" ({in_words(row.flag_list)})" if row.flags else ""
        contact_id = row.contact_id
        link = f"/contacts/{row.contact_id}/messages/{row.id}"
        summary = f"{row.summary}{flags}"
    else:  # an email
        contact_id, link = row.contact_id, f"/outbox?state={row.state}"
        to = named.of_staff(row.to_staff_id) if row.to_staff_id else row.to_address
        summary = f"Email to {to}: {row.subject}"
    return ChronologyEntry(
        at=k.at,
        type=k.type,
        object_type=k.object_type,
        object_id=k.object_id,
        contact_id=contact_id,
        summary=summary,
        link=link,
    )
