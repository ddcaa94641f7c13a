"""What consent/ needs of contacts: a contact's school, holder and pupils, and the end of a
pupil's part of a contact when their consent is withdrawn."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from consent.models import Consent
from consent.service import ConsentedContact
from contacts.models import (
    Alert,
    AlertKind,
    Contact,
    ContactPupil,
    ContactState,
    platform_name,
)
from contacts.service import end_pupils
from core import columns
from core.columns import TOLD
from core.directory.models import Staff
from core.principal import Principal

WITHDRAWAL_REASON = "Parental consent was withdrawn."


class Contacts:
    """contacts/'s side of `consent.service.ContactsOfConsent`."""

    def find(self, session: Session, contact_id: int) -> ConsentedContact | None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.id is None:
            return None
        parts = session.exec(
            select(ContactPupil.pupil_id, ContactPupil.ended_at).where(
                ContactPupil.contact_id == contact.id
            )
        ).all()
        pupils = [pupil for pupil, _ in parts]
        holder = session.get(Staff, contact.staff_id)
        # What a parent is told of the contact is what its declaration says (TOLD), no more.
        told = {c: getattr(contact, c) for c in columns.having(Contact, TOLD)}
        told["platform"] = platform_name(told["platform"], told.pop("platform_name"))
        return ConsentedContact(
            id=contact.id,
            school_id=contact.school_id,
            holder_id=contact.staff_id,
            pupil_ids=frozenset(pupils),
            ended_pupil_ids=frozenset(pupil for pupil, ended in parts if ended is not None),
            approved=contact.state == ContactState.approved,
            holder_name=holder.name if holder else "",
            **told,
        )

    def consent_withdrawn(
        self, session: Session, *, actor: Principal, at: datetime, consent: Consent
    ) -> None:
        """The pupil's part ends now; the holder is alerted and must delete the method."""
        contact = session.get(Contact, consent.contact_id)
        assert contact is not None
        if contact.state != ContactState.approved:
            return
        ended = end_pupils(
            session,
            actor=actor,
            at=at,
            contact=contact,
            pupil_ids=[consent.pupil_id],
            reason=WITHDRAWAL_REASON,
        )
        if ended:
            session.add(
                Alert(
                    school_id=contact.school_id,
                    kind=AlertKind.consent_withdrawn,
                    contact_id=contact.id,
                    staff_id=contact.staff_id,
                    created_at=at,
                )
            )


CONTACTS = Contacts()
