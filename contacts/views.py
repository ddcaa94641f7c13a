"""What a contact looks like to a reader: its state and, per pupil, consent and deletion state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from consent.models import Consent, ParentNotice
from consent.rules import consent_valid_on, needs_consent
from contacts.models import (
    Contact,
    ContactDevice,
    ContactPublic,
    ContactPupil,
    ContactState,
    DeletionTask,
    PupilOnContact,
    PupilState,
)
from core.clock import now, school_date
from core.directory.access import school_zone
from core.directory.models import Pupil, School
from core.settings import get_settings


def zones(session: Session, school_ids: set[int]) -> dict[int, ZoneInfo]:
    schools = session.exec(select(School).where(col(School.id).in_(school_ids))).all()
    return {s.id: school_zone(s) for s in schools if s.id is not None}


def pupil_state(
    contact: Contact,
    link: ContactPupil,
    *,
    born: date,
    day: date,
    consents: Sequence[Consent],
    deletion_confirmed: bool,
) -> PupilState:
    if contact.state == ContactState.requested:
        return PupilState.requested
    if contact.state == ContactState.rejected:
        return PupilState.rejected
    if link.ended_at is not None:
        return PupilState.closed if deletion_confirmed else PupilState.ended
    if day < contact.starts_on:
        return PupilState.not_started
    if needs_consent(born, day, get_settings().consent_age) and not any(
        consent_valid_on(c.terms, day) for c in consents
    ):
        return PupilState.awaiting_consent
    return PupilState.active


def contact_views(session: Session, contacts: Sequence[Contact]) -> list[ContactPublic]:
    """Readers' views of many contacts, with a fixed number of queries however many there are."""
    ids = [c.id for c in contacts if c.id is not None]
    if not ids:
        return []
    links: dict[int, list[ContactPupil]] = defaultdict(list)
    for link in session.exec(select(ContactPupil).where(col(ContactPupil.contact_id).in_(ids))):
        links[link.contact_id].append(link)
    devices: dict[int, list[int]] = defaultdict(list)
    for row in session.exec(select(ContactDevice).where(col(ContactDevice.contact_id).in_(ids))):
        devices[row.contact_id].append(row.device_id)
    pupil_ids = {link.pupil_id for group in links.values() for link in group}
    born = {
        p.id: p.date_of_birth
        for p in session.exec(select(Pupil).where(col(Pupil.id).in_(pupil_ids)))
    }
    consents: dict[tuple[int, int], list[Consent]] = defaultdict(list)
    for consent in session.exec(select(Consent).where(col(Consent.contact_id).in_(ids))):
        consents[(consent.contact_id, consent.pupil_id)].append(consent)
    informed = {
        n.pupil_id
        for n in session.exec(select(ParentNotice).where(col(ParentNotice.pupil_id).in_(pupil_ids)))
    }
    tasks: dict[tuple[int, int], DeletionTask] = {}
    for done in session.exec(select(DeletionTask).where(col(DeletionTask.contact_id).in_(ids))):
        tasks[(done.contact_id, done.pupil_id)] = done
    zone_of = zones(session, {c.school_id for c in contacts})
    consent_age = get_settings().consent_age
    instant = now()
    views = []
    for contact in contacts:
        assert contact.id is not None
        day = school_date(instant, zone_of[contact.school_id])
        pupils = []
        for link in sorted(links[contact.id], key=lambda link: link.pupil_id):
            key = (contact.id, link.pupil_id)
            task = tasks.get(key)
            under = needs_consent(born[link.pupil_id], day, consent_age)
            state = pupil_state(
                contact,
                link,
                born=born[link.pupil_id],
                day=day,
                consents=consents[key],
                deletion_confirmed=bool(task and task.confirmed_at),
            )
            pupils.append(
                PupilOnContact(
                    pupil_id=link.pupil_id,
                    state=state,
                    needs_consent=under,
                    consent_valid=any(consent_valid_on(c.terms, day) for c in consents[key]),
                    parent_informed=None if under else link.pupil_id in informed,
                    ended_at=link.ended_at,
                    end_reason=link.end_reason,
                    deletion_confirmed_at=task.confirmed_at if task else None,
                )
            )
        overall = ContactState(contact.state)
        if overall == ContactState.approved and any(p.state == PupilState.active for p in pupils):
            overall = ContactState.active
        views.append(
            ContactPublic.model_validate(
                {
                    **contact.model_dump(),
                    "state": overall,
                    "device_ids": sorted(devices[contact.id]),
                    "pupils": pupils,
                }
            )
        )
    return views
