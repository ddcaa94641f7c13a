"""Who an evidence pack's records mention, so that whoever receives it can tell who is who:
the pupils, the staff and the guardians behind the ids in its other records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from consent.models import Consent, ParentNotice
from contacts.concerns.models import (
    Concern,
    ConcernAction,
    ConcernAttachment,
    ConcernNote,
    ConcernReferral,
)
from contacts.incidents.models import Incident, IncidentPupil
from contacts.models import Contact, ContactPupil, DeletionTask, Message, MessagePupil
from contacts.oversight.review.models import MessageReview

if TYPE_CHECKING:
    from contacts.oversight.evidence import Scope


@dataclass(frozen=True)
class People:
    """Everyone the pack's records mention, by id: whoever reads it can tell who is who."""

    pupils: list[int]
    staff: list[int]
    guardians: list[int]


def mentioned(session: Session, scope: Scope) -> People:
    """Everyone the scope's records name: asked, decided, logged, reviewed, recorded, reported,
    discussed with; the pupils; the guardians who consented."""

    def ids(*queries: Any) -> list[int]:
        return sorted({i for q in queries for i in session.exec(q).all() if i is not None})

    contacts = col(Contact.id).in_(scope.contacts)
    messages = col(Message.id).in_(scope.messages)
    consents = col(Consent.id).in_(scope.consents)
    notices = col(ParentNotice.id).in_(scope.notices)
    incidents = col(Incident.id).in_(scope.incidents)
    people = People(
        pupils=ids(
            select(ContactPupil.pupil_id).where(col(ContactPupil.contact_id).in_(scope.contacts)),
            select(MessagePupil.pupil_id).where(col(MessagePupil.message_id).in_(scope.messages)),
            select(IncidentPupil.pupil_id).where(
                col(IncidentPupil.incident_id).in_(scope.incidents)
            ),
            select(Consent.pupil_id).where(consents),
            select(ParentNotice.pupil_id).where(notices),
        ),
        staff=ids(
            select(Contact.staff_id).where(contacts),
            select(Contact.decided_by_id).where(contacts),
            select(Message.staff_id).where(messages),
            select(MessageReview.reviewer_id).where(
                col(MessageReview.message_id).in_(scope.messages)
            ),
            select(DeletionTask.staff_id).where(col(DeletionTask.contact_id).in_(scope.contacts)),
            select(Consent.recorded_by_id).where(consents),
            select(ParentNotice.recorded_by_id).where(notices),
            select(Incident.reporter_id).where(incidents),
            select(Incident.discussed_with_id).where(incidents),
        ),
        guardians=ids(select(Consent.guardian_id).where(consents)),
    )
    if scope.concerns is None:
        return people
    return People(
        pupils=people.pupils,
        staff=sorted({*people.staff, *ids(*concern_people(scope.concerns))}),
        guardians=people.guardians,
    )


def concern_people(concerns: Any) -> list[Any]:
    """Everyone a case file names: its subject, who raised it, who wrote, referred, owned,
    set, attached and closed."""
    of = col(Concern.id).in_(concerns)
    return [
        select(Concern.subject_staff_id).where(of),
        select(Concern.raised_by_id).where(of),
        select(Concern.closed_by_id).where(of),
        select(ConcernNote.written_by_id).where(col(ConcernNote.concern_id).in_(concerns)),
        select(ConcernReferral.recorded_by_id).where(col(ConcernReferral.concern_id).in_(concerns)),
        select(ConcernAction.owner_id).where(col(ConcernAction.concern_id).in_(concerns)),
        select(ConcernAction.set_by_id).where(col(ConcernAction.concern_id).in_(concerns)),
        select(ConcernAttachment.added_by_id).where(
            col(ConcernAttachment.concern_id).in_(concerns)
        ),
    ]
