"""Which records are past their retention period today, and which of those a legal hold keeps:
the schedule of SPEC §7 applied to one trust's records, read-only (a dry run is this alone)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from consent.models import Consent, ConsentRequest, ParentNotice
from contacts.capture.models import CapturedMessage
from contacts.data_protection.legal_holds.models import HeldSubject, LegalHold
from contacts.data_protection.retention.concerns import concerns_due
from contacts.incidents.models import Incident, IncidentPupil
from contacts.models import Contact, ContactPupil, ContactState, DeletionTask, Message
from contacts.oversight.review.models import MessageReview
from core.clock import years_after
from core.directory.models import Guardian, Pupil, School
from core.policy import Policy

# Ids per IN (...) list: well inside every database's limit on bound parameters.
CHUNK = 500


def chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


@dataclass
class Plan:
    """What a run would do: ids to redact per (school, record type); ids kept per hold."""

    due: dict[tuple[int, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    kept: dict[tuple[int, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    holds: dict[int, LegalHold] = field(default_factory=dict)

    def add(self, school_id: int, records: dict[str, list[int]], by: list[LegalHold]) -> None:
        for record_type, ids in records.items():
            if not ids:
                continue
            if not by:
                self.due[(school_id, record_type)].extend(ids)
            for hold in by:
                assert hold.id is not None
                self.holds[hold.id] = hold
                self.kept[(hold.id, record_type)].extend(ids)


@dataclass(frozen=True)
class Holds:
    """The trust's holds: the active ones by what they cover, and when each member of staff was
    first the subject of one (an allegation: its records are kept for the allegation period)."""

    active: dict[tuple[str, int], list[LegalHold]]
    allegation_on: dict[int, date]

    def over(self, *subjects: tuple[HeldSubject, Iterable[int]]) -> list[LegalHold]:
        found: dict[int | None, LegalHold] = {}
        for kind, ids in subjects:
            for subject_id in ids:
                for hold in self.active.get((kind, subject_id), []):
                    found[hold.id] = hold
        return sorted(found.values(), key=lambda h: h.id or 0)


def _holds(session: Session, school_ids: list[int]) -> Holds:
    active: dict[tuple[str, int], list[LegalHold]] = defaultdict(list)
    allegation_on: dict[int, date] = {}
    query = select(LegalHold).where(col(LegalHold.school_id).in_(school_ids))
    for hold in session.exec(query.order_by(col(LegalHold.id))).all():
        if hold.released_at is None:
            active[(hold.subject_type, hold.subject_id)].append(hold)
        if hold.subject_type == HeldSubject.staff:
            placed = hold.placed_at.date()
            allegation_on[hold.subject_id] = max(allegation_on.get(hold.subject_id, placed), placed)
    return Holds(active, allegation_on)


def _by(session: Session, query: Any, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Rows of a two-column query (parent id, value) for these parents, grouped by parent."""
    found: dict[int, list[Any]] = defaultdict(list)
    for part in chunks(ids):
        for parent, value in session.exec(query(part)).all():
            found[parent].append(value)
    return found


def _ids(session: Session, column: Any, parent: Any, parents: Sequence[int]) -> list[int]:
    found: list[int] = []
    for part in chunks(parents):
        found.extend(session.exec(select(column).where(parent.in_(part))).all())
    return sorted(found)


def contact_records(session: Session, contact_ids: Sequence[int]) -> dict[str, list[int]]:
    """A contact's whole record: itself, its messages and their reviews, its deletion tasks,
    the consents, consent requests and parent notices given for it, what the platform captured
    on it."""
    messages = _ids(session, col(Message.id), col(Message.contact_id), contact_ids)
    captured = _ids(session, col(CapturedMessage.id), col(CapturedMessage.contact_id), contact_ids)
    return {
        # What the platform captured on it, and each upload nothing else's messages are in.
        "captured_message": captured,
        "capture_upload": _uploads_only_of(session, captured, contact_ids),
        "contact": sorted(contact_ids),
        "message": messages,
        "message_review": _ids(
            session, col(MessageReview.id), col(MessageReview.message_id), messages
        ),
        "deletion_task": _ids(
            session, col(DeletionTask.id), col(DeletionTask.contact_id), contact_ids
        ),
        "consent": _ids(session, col(Consent.id), col(Consent.contact_id), contact_ids),
        "consent_request": _ids(
            session, col(ConsentRequest.id), col(ConsentRequest.contact_id), contact_ids
        ),
        "parent_notice": _ids(
            session, col(ParentNotice.id), col(ParentNotice.contact_id), contact_ids
        ),
    }


def _uploads_only_of(
    session: Session, captured: Sequence[int], contact_ids: Sequence[int]
) -> list[int]:
    """The uploads of these captured messages that hold none of any other contact's (or of no
    contact): their files go when these contacts' records do."""
    uploads: set[int] = set()
    for part in chunks(captured):
        uploads.update(
            session.exec(
                select(col(CapturedMessage.upload_id))
                .where(col(CapturedMessage.id).in_(part))
                .distinct()
            ).all()
        )
    mine = set(contact_ids)
    shared: set[int] = set()
    for part in chunks(sorted(uploads)):
        for upload_id, contact_id in session.exec(
            select(col(CapturedMessage.upload_id), col(CapturedMessage.contact_id))
            .where(col(CapturedMessage.upload_id).in_(part))
            .distinct()
        ).all():
            if contact_id is None or contact_id not in mine:
                shared.add(upload_id)
    return sorted(uploads - shared)


def _closed_on(contact: Any, ended: list[datetime | None], today: date) -> date | None:
    """The day the contact closed, or None while it is open (or never decided)."""
    if contact.state == ContactState.rejected and contact.decided_at is not None:
        return contact.decided_at.date()  # type: ignore[no-any-return]
    if contact.state in (ContactState.ended, ContactState.closed):
        stamp = contact.ended_at or contact.closed_at or contact.decided_at
        return stamp.date() if stamp is not None else contact.ends_on  # type: ignore[no-any-return]
    if contact.state == ContactState.approved:
        if ended and all(e is not None for e in ended):
            return max(e for e in ended if e is not None).date()
        if contact.ends_on < today:
            return contact.ends_on  # type: ignore[no-any-return]
    return None


@dataclass(frozen=True)
class Trust:
    """What every part of the plan reads about the trust once."""

    policy: Policy
    schools: dict[int, School]
    holds: Holds
    at: datetime

    def today(self, school_id: int) -> date:
        return self.policy.today(self.schools[school_id], self.at)

    def allegation_until(self, staff_id: int) -> date | None:
        placed = self.holds.allegation_on.get(staff_id)
        return years_after(placed, self.policy.allegation_years) if placed else None


def _latest(*days: date | None) -> date:
    return max(d for d in days if d is not None)


def _contacts(session: Session, trust: Trust, plan: Plan) -> set[int]:
    """Closed contacts past their period; returns the ids that are due (not held)."""
    policy = trust.policy
    query = sa.select(
        col(Contact.id),
        col(Contact.school_id),
        col(Contact.staff_id),
        col(Contact.state),
        col(Contact.decided_at),
        col(Contact.ended_at),
        col(Contact.closed_at),
        col(Contact.ends_on),
    ).where(
        col(Contact.school_id).in_(list(trust.schools)),
        col(Contact.redacted_at).is_(None),
        col(Contact.state) != ContactState.requested,
    )
    contacts: list[Any] = list(session.execute(query.order_by(col(Contact.id))).all())
    ids = [c.id for c in contacts]
    parts = _by(
        session,
        lambda part: select(col(ContactPupil.contact_id), col(ContactPupil.pupil_id)).where(
            col(ContactPupil.contact_id).in_(part)
        ),
        ids,
    )
    ends = _by(
        session,
        lambda part: select(col(ContactPupil.contact_id), col(ContactPupil.ended_at)).where(
            col(ContactPupil.contact_id).in_(part)
        ),
        ids,
    )
    flagged: set[int] = set()
    for part in chunks(ids):
        flagged.update(
            session.exec(
                select(col(Message.contact_id))
                .where(col(Message.contact_id).in_(part), col(Message.flags) != "")
                .distinct()
            ).all()
        )
    born = _born_on(session, ContactPupil, col(ContactPupil.contact_id), ids)
    due: dict[tuple[int, tuple[int, ...]], list[int]] = defaultdict(list)
    for contact in contacts:
        today = trust.today(contact.school_id)
        closed = _closed_on(contact, ends.get(contact.id, []), today)
        if closed is None:
            continue
        pupils = parts.get(contact.id, [])
        until = _latest(
            years_after(closed, policy.closed_contact_years),
            years_after(max(born[contact.id]), policy.safeguarding_years)
            if contact.id in flagged and born.get(contact.id)
            else None,
            trust.allegation_until(contact.staff_id),
        )
        if until > today:
            continue
        holds = trust.holds.over(
            (HeldSubject.contact, [contact.id]),
            (HeldSubject.pupil, pupils),
            (HeldSubject.staff, [contact.staff_id]),
        )
        due[(contact.school_id, tuple(h.id or 0 for h in holds))].append(contact.id)
        if holds:
            plan.holds.update({h.id or 0: h for h in holds})
    redacted: set[int] = set()
    for (school_id, hold_ids), contact_ids in due.items():
        plan.add(
            school_id,
            contact_records(session, contact_ids),
            [plan.holds[h] for h in hold_ids],
        )
        if not hold_ids:
            redacted.update(contact_ids)
    return redacted


def _born_on(
    session: Session, link: Any, parent: Any, parents: Sequence[int]
) -> dict[int, list[date]]:
    """The pupils' dates of birth as each record sealed them when it was made (never the
    pupil's date of birth as it stands now, which one person could change after the fact)."""
    return _by(
        session,
        lambda part: select(parent, col(link.born_on)).where(parent.in_(part)),
        parents,
    )


def _incidents(session: Session, trust: Trust, plan: Plan) -> set[int]:
    """Incidents are child-protection records: kept until the youngest pupil involved is of
    the safeguarding age (from the day it happened, when no pupil is named)."""
    policy = trust.policy
    incidents: list[Any] = list(
        session.exec(
            select(
                col(Incident.id),
                col(Incident.school_id),
                col(Incident.reporter_id),
                col(Incident.occurred_at),
            ).where(
                col(Incident.school_id).in_(list(trust.schools)),
                col(Incident.redacted_at).is_(None),
            )
        ).all()
    )
    parts = _by(
        session,
        lambda part: select(col(IncidentPupil.incident_id), col(IncidentPupil.pupil_id)).where(
            col(IncidentPupil.incident_id).in_(part)
        ),
        [i.id for i in incidents],
    )
    born = _born_on(
        session, IncidentPupil, col(IncidentPupil.incident_id), [i.id for i in incidents]
    )
    redacted: set[int] = set()
    for incident in incidents:
        pupils = parts.get(incident.id, [])
        births = born.get(incident.id)
        start = max(births) if births else incident.occurred_at.date()
        until = _latest(
            years_after(start, policy.safeguarding_years),
            trust.allegation_until(incident.reporter_id),
        )
        if until > trust.today(incident.school_id):
            continue
        holds = trust.holds.over(
            (HeldSubject.incident, [incident.id]),
            (HeldSubject.pupil, pupils),
            (HeldSubject.staff, [incident.reporter_id]),
        )
        plan.add(incident.school_id, {"incident": [incident.id]}, holds)
        if not holds:
            redacted.add(incident.id)
    return redacted


def _pupils(
    session: Session, trust: Trust, plan: Plan, contacts: set[int], incidents: set[int]
) -> None:
    """A pupil who has left loses their name, reference and guardians once the period after
    leaving has passed and nothing kept about them remains (every contact and incident they
    were in is redacted, or is being now)."""
    policy = trust.policy
    leavers: list[Any] = list(
        session.exec(
            select(col(Pupil.id), col(Pupil.school_id), col(Pupil.left_on)).where(
                col(Pupil.school_id).in_(list(trust.schools)),
                col(Pupil.redacted_at).is_(None),
                col(Pupil.left_on).is_not(None),
            )
        ).all()
    )
    leavers = [
        p
        for p in leavers
        if years_after(p.left_on, policy.closed_contact_years) <= trust.today(p.school_id)
    ]
    ids = [p.id for p in leavers]
    in_contacts = _by(
        session,
        lambda part: (
            select(col(ContactPupil.pupil_id), col(ContactPupil.contact_id))
            .join(Contact, col(Contact.id) == col(ContactPupil.contact_id))
            .where(col(ContactPupil.pupil_id).in_(part), col(Contact.redacted_at).is_(None))
        ),
        ids,
    )
    in_incidents = _by(
        session,
        lambda part: (
            select(col(IncidentPupil.pupil_id), col(IncidentPupil.incident_id))
            .join(Incident, col(Incident.id) == col(IncidentPupil.incident_id))
            .where(col(IncidentPupil.pupil_id).in_(part), col(Incident.redacted_at).is_(None))
        ),
        ids,
    )
    notices = _by(
        session,
        lambda part: select(col(ParentNotice.pupil_id), col(ParentNotice.id)).where(
            col(ParentNotice.pupil_id).in_(part),
            col(ParentNotice.contact_id).is_(None),
            col(ParentNotice.redacted_at).is_(None),
        ),
        ids,
    )
    guardians = _by(
        session,
        lambda part: select(col(Guardian.pupil_id), col(Guardian.id)).where(
            col(Guardian.pupil_id).in_(part)
        ),
        ids,
    )
    for pupil in leavers:
        if not set(in_contacts.get(pupil.id, [])) <= contacts:
            continue
        if not set(in_incidents.get(pupil.id, [])) <= incidents:
            continue
        holds = trust.holds.over((HeldSubject.pupil, [pupil.id]))
        records = {
            "pupil": [pupil.id],
            "guardian": sorted(guardians.get(pupil.id, [])),
            "parent_notice": sorted(notices.get(pupil.id, [])),
        }
        plan.add(pupil.school_id, records, holds)


def plan(*, session: Session, policy: Policy, at: datetime) -> Plan:
    """What the schedule says about the trust's records at `at`: due, or kept by a hold."""
    assert policy.trust_id is not None
    schools = {
        s.id: s
        for s in session.exec(select(School).where(School.trust_id == policy.trust_id)).all()
        if s.id is not None
    }
    trust = Trust(policy, schools, _holds(session, list(schools)), at)
    found = Plan()
    if not schools:
        return found
    contacts = _contacts(session, trust, found)
    incidents = _incidents(session, trust, found)
    _pupils(session, trust, found, contacts, incidents)
    concerns_due(session, trust, found)
    return found
