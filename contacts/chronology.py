"""A pupil's or a staff member's whole story in one time order: every record, typed and linked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, or_, select

from consent.models import Consent, ParentNotice
from contacts.incident_models import Incident, IncidentPupil
from contacts.models import (
    Contact,
    ContactPupil,
    DeletionTask,
    Message,
    MessagePupil,
    platform_name,
)
from contacts.review import LogFilter, record_access
from core.auth import Principal
from core.directory.access import require_role, visible_school
from core.directory.models import Pupil, Role, Staff
from core.directory.staff import manages
from core.errors import InvalidInput, NotFound
from core.outbox import OutboxEmail
from core.pagination import Page, decode_cursor, encode_cursor


class ChronologyEntry(BaseModel):
    at: datetime
    type: str
    object_type: str
    object_id: int
    contact_id: int | None = None
    summary: str
    link: str


def _contact_entries(contacts: list[Contact], ended: list[ContactPupil]) -> list[ChronologyEntry]:
    out = []
    for c in contacts:
        assert c.id is not None
        link = f"/contacts/{c.id}"
        out.append(
            ChronologyEntry(
                at=c.requested_at,
                type="contact.requested",
                object_type="contact",
                object_id=c.id,
                contact_id=c.id,
                link=link,
                summary=f"Staff #{c.staff_id} asked for {platform_name(c.platform)} contact",
            )
        )
        if c.decided_at is not None:
            verdict = c.verdict or "decided"
            out.append(
                ChronologyEntry(
                    at=c.decided_at,
                    type=f"contact.{verdict}",
                    object_type="contact",
                    object_id=c.id,
                    contact_id=c.id,
                    link=link,
                    summary=f"{verdict.title()} by staff #{c.decided_by_id}",
                )
            )
    for e in ended:
        if e.ended_at is not None:
            out.append(
                ChronologyEntry(
                    at=e.ended_at,
                    type="contact.ended",
                    object_type="contact",
                    object_id=e.contact_id,
                    contact_id=e.contact_id,
                    link=f"/contacts/{e.contact_id}",
                    summary=f"Ended for pupil #{e.pupil_id}: {e.end_reason}",
                )
            )
    return out


def _common_entries(
    session: Session,
    contact_ids: list[int],
    pupil_ids: list[int] | None,
    message_filter: Any,
    incident_filter: Any,
    email_filter: Any,
) -> list[ChronologyEntry]:
    out: list[ChronologyEntry] = []
    consents = select(Consent).where(col(Consent.contact_id).in_(contact_ids))
    if pupil_ids is not None:
        consents = consents.where(col(Consent.pupil_id).in_(pupil_ids))
    for c in session.exec(consents):
        assert c.id is not None
        link = f"/pupils/{c.pupil_id}/consents"
        out.append(
            ChronologyEntry(
                at=c.recorded_at,
                type="consent.recorded",
                object_type="consent",
                object_id=c.id,
                contact_id=c.contact_id,
                link=link,
                summary=f"Consent given {c.given_on} by guardian #{c.guardian_id}",
            )
        )
        if c.withdrawal_recorded_at is not None:
            out.append(
                ChronologyEntry(
                    at=c.withdrawal_recorded_at,
                    type="consent.withdrawn",
                    object_type="consent",
                    object_id=c.id,
                    contact_id=c.contact_id,
                    link=link,
                    summary=f"Consent withdrawn from {c.withdrawn_on}",
                )
            )
    for t in session.exec(
        select(DeletionTask).where(col(DeletionTask.contact_id).in_(contact_ids))
    ):
        if t.confirmed_at is not None and (pupil_ids is None or t.pupil_id in pupil_ids):
            assert t.id is not None
            out.append(
                ChronologyEntry(
                    at=t.confirmed_at,
                    type="deletion.confirmed",
                    object_type="deletion_task",
                    object_id=t.id,
                    contact_id=t.contact_id,
                    link=f"/contacts/{t.contact_id}",
                    summary=f"Contact method deleted: {t.how}",
                )
            )
    for m in session.exec(select(Message).where(message_filter)):
        assert m.id is not None
        flags = f" [{m.flags.replace(',', ', ')}]" if m.flags else ""
        out.append(
            ChronologyEntry(
                at=m.occurred_at,
                type=f"message.{m.direction}",
                object_type="message",
                object_id=m.id,
                contact_id=m.contact_id,
                link=f"/contacts/{m.contact_id}/messages/{m.id}",
                summary=f"{m.summary}{flags}",
            )
        )
    for i in session.exec(select(Incident).where(incident_filter)):
        assert i.id is not None
        link = f"/incidents/{i.id}"
        out.append(
            ChronologyEntry(
                at=i.occurred_at,
                type="incident.reported",
                object_type="incident",
                object_id=i.id,
                link=link,
                summary=(
                    f"{i.kind.replace('_', ' ')} on {platform_name(i.platform, i.platform_name)}"
                ),
            )
        )
        if i.discussed_at is not None:
            out.append(
                ChronologyEntry(
                    at=i.discussed_at,
                    type="incident.discussed",
                    object_type="incident",
                    object_id=i.id,
                    link=link,
                    summary=f"Discussed with staff #{i.discussed_with_id}",
                )
            )
    for e in session.exec(select(OutboxEmail).where(email_filter)):
        assert e.id is not None
        out.append(
            ChronologyEntry(
                at=e.created_at,
                type=f"email.{e.kind}",
                object_type="email",
                object_id=e.id,
                contact_id=e.contact_id,
                link=f"/outbox?state={e.state}",
                summary=f"Email to staff #{e.to_staff_id}: {e.subject}",
            )
        )
    return out


def _page(entries: list[ChronologyEntry], cursor: str | None, limit: int) -> Page[ChronologyEntry]:
    def key(e: ChronologyEntry) -> tuple[str, str, int]:
        return (e.at.isoformat(), e.type, e.object_id)

    entries.sort(key=key)
    after = decode_cursor(cursor)
    if after is not None:
        if not (isinstance(after, list) and len(after) == 3):
            raise InvalidInput("The cursor is not one this server issued.")
        entries = [e for e in entries if key(e) > tuple(after)]
    more = len(entries) > limit
    shown = entries[:limit]
    return Page(items=shown, next_cursor=encode_cursor(list(key(shown[-1]))) if more else None)


def pupil_chronology(
    *, session: Session, actor: Principal, pupil_id: int, cursor: str | None, limit: int
) -> Page[ChronologyEntry]:
    """Everything about one pupil: for the DSL (and, in time, investigations)."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise NotFound("No such pupil.")
    try:
        school = visible_school(session, actor, pupil.school_id)
    except NotFound:
        raise NotFound("No such pupil.") from None
    require_role(actor, school, Role.dsl, action="read a pupil's chronology")
    links = session.exec(select(ContactPupil).where(ContactPupil.pupil_id == pupil_id)).all()
    contact_ids = [link.contact_id for link in links]
    contacts = list(session.exec(select(Contact).where(col(Contact.id).in_(contact_ids))).all())
    entries = _contact_entries(contacts, list(links))
    entries += _common_entries(
        session,
        contact_ids,
        [pupil_id],
        message_filter=col(Message.id).in_(
            select(MessagePupil.message_id).where(MessagePupil.pupil_id == pupil_id)
        ),
        incident_filter=col(Incident.id).in_(
            select(IncidentPupil.incident_id).where(IncidentPupil.pupil_id == pupil_id)
        ),
        email_filter=col(OutboxEmail.contact_id).in_(contact_ids),
    )
    for n in session.exec(select(ParentNotice).where(ParentNotice.pupil_id == pupil_id)):
        assert n.id is not None
        entries.append(
            ChronologyEntry(
                at=n.recorded_at,
                type="parent_notice.recorded",
                object_type="parent_notice",
                object_id=n.id,
                contact_id=n.contact_id,
                link=f"/pupils/{pupil_id}/parent-notices",
                summary=f"Parents informed on {n.informed_on} by {n.informed_by}",
            )
        )
    record_access(
        session, actor, "access.pupil_chronology", LogFilter(pupil_id=pupil_id), pupil.school_id
    )
    return _page(entries, cursor, limit)


def staff_chronology(
    *, session: Session, actor: Principal, staff_id: int, cursor: str | None, limit: int
) -> Page[ChronologyEntry]:
    """Everything one member of staff did and was asked: for the DSL and their line manager."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("No such member of staff.")
    try:
        school = visible_school(session, actor, staff.school_id)
    except NotFound:
        raise NotFound("No such member of staff.") from None
    if not manages(actor, staff, school):
        require_role(actor, school, Role.dsl, action="read a staff chronology")
    contacts = list(session.exec(select(Contact).where(Contact.staff_id == staff_id)).all())
    contact_ids = [c.id for c in contacts if c.id is not None]
    links = session.exec(
        select(ContactPupil).where(col(ContactPupil.contact_id).in_(contact_ids))
    ).all()
    entries = _contact_entries(contacts, list(links))
    entries += _common_entries(
        session,
        contact_ids,
        None,
        message_filter=col(Message.staff_id) == staff_id,
        incident_filter=col(Incident.reporter_id) == staff_id,
        email_filter=or_(
            col(OutboxEmail.to_staff_id) == staff_id, col(OutboxEmail.contact_id).in_(contact_ids)
        ),
    )
    record_access(
        session, actor, "access.staff_chronology", LogFilter(staff_id=staff_id), staff.school_id
    )
    return _page(entries, cursor, limit)
