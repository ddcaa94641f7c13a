"""What a contact looks like to a reader: its stored state, whether it is active today, and each
pupil's standing (consent.standing decides it); and the names a page shows beside its ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from consent.models import Consent, ConsentRequest, ParentNotice, RequestState
from consent.refusals import refused
from consent.requests import furthest, state_of
from consent.rules import ConsentTerms, age_on, needs_consent
from consent.standing import standing
from contacts.models import (
    Contact,
    ContactDevice,
    ContactPublic,
    ContactPupil,
    ContactState,
    DeletionTask,
    Message,
    PupilStandingPublic,
)
from core.directory.models import Device, Pupil, School, Staff
from core.policy import Policy


def contact_views(
    session: Session, contacts: Sequence[Contact], *, policy: Policy, at: datetime
) -> list[ContactPublic]:
    """Readers' views of many contacts as of `at`, with a fixed number of queries however many
    there are."""
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
    born: dict[int | None, date] = {}
    named: dict[int | None, str] = {}
    for pupil in session.exec(select(Pupil).where(col(Pupil.id).in_(pupil_ids))):
        born[pupil.id] = pupil.date_of_birth
        named[pupil.id] = f"{pupil.given_name} {pupil.family_name}"
    # Its reader may see the contact, and so who holds it and who it is with, by name.
    holders = dict(
        session.exec(
            select(col(Staff.id), col(Staff.name)).where(
                col(Staff.id).in_({c.staff_id for c in contacts})
            )
        ).all()
    )
    consents: dict[tuple[int, int], list[ConsentTerms]] = defaultdict(list)
    consents_by_id: dict[int | None, Consent] = {}
    for consent in session.exec(select(Consent).where(col(Consent.contact_id).in_(ids))):
        consents[(consent.contact_id, consent.pupil_id)].append(consent.terms)
        consents_by_id[consent.id] = consent
    informed: dict[int, list[date]] = defaultdict(list)
    for notice in session.exec(
        select(ParentNotice).where(col(ParentNotice.pupil_id).in_(pupil_ids))
    ):
        informed[notice.pupil_id].append(notice.informed_on)
    asked: dict[tuple[int, int], list[RequestState]] = defaultdict(list)
    for request in session.exec(
        select(ConsentRequest).where(col(ConsentRequest.contact_id).in_(ids))
    ):
        given = consents_by_id.get(request.consent_id) if request.consent_id else None
        asked[(request.contact_id, request.pupil_id)].append(state_of(request, given, at))
    stopped = refused(session, ids)
    tasks: dict[tuple[int, int], DeletionTask] = {}
    for done in session.exec(select(DeletionTask).where(col(DeletionTask.contact_id).in_(ids))):
        tasks[(done.contact_id, done.pupil_id)] = done
    schools = {
        s.id: s
        for s in session.exec(
            select(School).where(col(School.id).in_({c.school_id for c in contacts}))
        )
    }
    views = []
    for contact in contacts:
        assert contact.id is not None
        day = policy.today(schools[contact.school_id], at)
        pupils = []
        for link in sorted(links[contact.id], key=lambda link: link.pupil_id):
            key = (contact.id, link.pupil_id)
            task = tasks.get(key)
            now_stands = standing(
                policy=policy,
                day=day,
                decision=contact.state,
                starts_on=contact.starts_on,
                ends_on=contact.ends_on,
                ended_at=link.ended_at,
                deletion_confirmed=bool(task and task.confirmed_at),
                born=born[link.pupil_id],
                consents=consents[key],
                informed_on=informed[link.pupil_id],
                refused=key in stopped,
            )
            pupils.append(
                PupilStandingPublic(
                    pupil_id=link.pupil_id,
                    name=named[link.pupil_id],
                    state=now_stands.state,
                    needs_consent=now_stands.needs_consent,
                    consent_valid=now_stands.consent_valid,
                    parent_informed=now_stands.parent_informed,
                    ended_at=link.ended_at,
                    end_reason=link.end_reason,
                    deletion_confirmed_at=task.confirmed_at if task else None,
                    consent_request=furthest(asked.get(key, [])),
                    age_at_start=(
                        age_on(born[link.pupil_id], contact.starts_on)
                        if born[link.pupil_id] <= contact.starts_on
                        else None
                    ),
                    needs_consent_at_start=needs_consent(
                        born[link.pupil_id], contact.starts_on, policy.consent_age
                    ),
                )
            )
        views.append(
            ContactPublic.model_validate(
                {
                    **contact.model_dump(),
                    "state": ContactState(contact.state),
                    "active": any(p.state == "active" for p in pupils),
                    "device_ids": sorted(devices[contact.id]),
                    "staff_name": holders.get(contact.staff_id, ""),
                    "pupils": pupils,
                }
            )
        )
    return views


def contact_view(
    session: Session, contact: Contact, *, policy: Policy, at: datetime
) -> ContactPublic:
    return contact_views(session, [contact], policy=policy, at=at)[0]


def device_tags(session: Session, device_ids: Iterable[int]) -> list[str]:
    """The asset tags of a contact's approved devices, in the order they were registered."""
    wanted = sorted(set(device_ids))
    if not wanted:
        return []
    return list(
        session.exec(
            select(col(Device.asset_tag)).where(col(Device.id).in_(wanted)).order_by(col(Device.id))
        ).all()
    )


def last_device_tag(session: Session, *, staff_id: int, contact_id: int) -> str | None:
    """The device this member of staff last logged from on this contact: offered again."""
    return session.exec(
        select(col(Message.device_tag))
        .where(Message.staff_id == staff_id, Message.contact_id == contact_id)
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()
