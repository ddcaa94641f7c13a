"""Everything contactlog holds about one pupil or one member of staff, for a subject access
request: one JSON document (or a ZIP with a SHA-256 manifest), other pupils and third parties
shown only as "another pupil" or "[third party]". Producing it is an access event, and only for
an open request about that person: no one exports a whole record without a request on file."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from sqlmodel import Session, SQLModel, col, select

from consent.models import Consent, ParentNotice
from contacts.capture.models import CapturedMessage, CapturedPupil
from contacts.data_protection.subject_access.models import SubjectAccessRequest, Whose
from contacts.incidents.models import Incident, IncidentPupil
from contacts.models import Contact, ContactPupil, Message, MessagePupil
from contacts.oversight.pack import Pack
from contacts.oversight.review.models import MessageReview
from core import columns
from core.columns import SHOWN
from core.db import snapshot_of
from core.directory.access import get_scoped, require_role, visible_school
from core.directory.models import Guardian, Pupil, Role, School, Staff, StaffRole
from core.errors import Conflict, NotFound
from core.principal import Principal
from core.record import audit

THIS_PUPIL, ANOTHER_PUPIL, A_PUPIL = "this pupil", "another pupil", "a pupil"
THIRD_PARTY = "[third party]"
NOTE = (
    "Other pupils and third parties are shown only as 'another pupil', 'a pupil' or "
    "'[third party]'. Free text (summaries, verbatim messages, notes) is as it was written: "
    "read it before release and redact any name of another person it contains."
)
WITHHELD = [
    "Legal holds are not included: disclosing an investigation could prejudice it "
    "(Data Protection Act 2018, Schedule 2, paragraph 2).",
    # Said in every export, whether or not there are any: its absence would tell.
    "Records of concerns and allegations about adults (Keeping Children Safe in Education, "
    "Part 4) are neither confirmed nor included: they hold other people's personal data given "
    "in confidence (Data Protection Act 2018, Schedule 2, paragraph 16), and disclosing them "
    "could prejudice the protection of children or the prevention or detection of crime "
    "(Schedule 2, paragraph 2). A request for them is considered separately by the case "
    "manager, who discloses what the exemptions allow.",
]
# What of each record the subject sees is its table's declaration (core/columns.py: SHOWN);
# ids of other people never appear. Their own decisions show a decider their note too.
DECISION_FIELDS = (
    *("id", "verdict", "decided_at", "conditions", "decision_note", "rejection_reason"),
)
README = """contactlog subject access export
================================

subject-access.json holds everything contactlog held about {subject} when it was produced
({made}), for subject access request #{request}. {note}

To check the files are as produced: unzip, then `sha256sum -c MANIFEST.sha256`.
"""


def _request(
    session: Session, actor: Principal, request_id: int, whose: Whose, subject_id: int
) -> tuple[SubjectAccessRequest, School]:
    request = get_scoped(
        session, actor, SubjectAccessRequest, request_id, "No such subject access request."
    )
    school = visible_school(session, actor, request.school_id)
    require_role(actor, school, Role.dsl, action="produce a subject access export")
    if (request.subject_type, request.subject_id) != (whose, subject_id):
        raise NotFound(f"Subject access request #{request_id} is not about this {whose.value}.")
    if request.completed_on is not None:
        raise Conflict(f"Subject access request #{request_id} has already been answered.")
    return request, school


def _plain(row: Any, *names: str) -> dict[str, Any]:
    return {n: _jsonable(getattr(row, n)) for n in names}


def _shown(row: SQLModel) -> dict[str, Any]:
    """What the subject sees of a record: its SHOWN columns."""
    return _plain(row, *columns.having(type(row), SHOWN))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _pupils_of(
    session: Session, link: Any, parent: Any, ids: Sequence[int]
) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    if ids:
        for owner, pupil in session.exec(select(parent, link).where(parent.in_(list(ids)))).all():
            found[owner].append(pupil)
    return found


def _named(pupils: list[int], me: int | None) -> list[str]:
    """Pupils as the subject may see them: themselves, and everyone else as another pupil."""
    if me is None:
        return [A_PUPIL for _ in pupils]
    return sorted((THIS_PUPIL if p == me else ANOTHER_PUPIL for p in pupils), reverse=True)


def _staff_names(session: Session, ids: set[int | None]) -> dict[int | None, str]:
    wanted = [i for i in ids if i is not None]
    rows = session.exec(select(Staff).where(col(Staff.id).in_(wanted))).all() if wanted else []
    # Staff appear in their professional role: their names are part of the record.
    return {s.id: s.name for s in rows}


def _contacts(
    session: Session, contacts: Sequence[Contact], me: int | None
) -> list[dict[str, Any]]:
    ids = [c.id for c in contacts if c.id is not None]
    pupils = _pupils_of(session, col(ContactPupil.pupil_id), col(ContactPupil.contact_id), ids)
    parts = (
        {
            p.contact_id: p
            for p in session.exec(
                select(ContactPupil).where(
                    col(ContactPupil.contact_id).in_(ids), ContactPupil.pupil_id == me
                )
            ).all()
        }
        if me is not None
        else {}
    )
    people: set[int | None] = {c.decided_by_id for c in contacts} | {c.staff_id for c in contacts}
    names = _staff_names(session, people)
    shown = []
    for c in contacts:
        item = _shown(c)
        item["staff"] = names.get(c.staff_id)
        item["decided_by"] = names.get(c.decided_by_id)
        item["pupils"] = _named(pupils.get(c.id or 0, []), me)
        part = parts.get(c.id or 0)
        if part is not None:
            item["my_part"] = _shown(part)
        shown.append(item)
    return shown


def _messages(session: Session, query: Any, me: int | None) -> list[dict[str, Any]]:
    messages = session.exec(query.order_by(col(Message.occurred_at), col(Message.id))).all()
    ids = [m.id for m in messages if m.id is not None]
    pupils = _pupils_of(session, col(MessagePupil.pupil_id), col(MessagePupil.message_id), ids)
    shown = []
    for m in messages:
        item = _shown(m)
        item["flags"] = m.flag_list
        item["pupils"] = _named(pupils.get(m.id or 0, []), me)
        shown.append(item)
    return shown


def _captured(session: Session, query: Any, me: int | None) -> list[dict[str, Any]]:
    """What the platform captured, as the subject sees it: its SHOWN columns, pupils as the
    subject may see them."""
    found = session.exec(
        query.order_by(col(CapturedMessage.sent_at), col(CapturedMessage.id))
    ).all()
    ids = [c.id for c in found if c.id is not None]
    pupils = _pupils_of(session, col(CapturedPupil.pupil_id), col(CapturedPupil.captured_id), ids)
    return [{**_shown(c), "pupils": _named(pupils.get(c.id or 0, []), me)} for c in found]


def _incidents(
    session: Session, incidents: Sequence[Incident], me: int | None
) -> list[dict[str, Any]]:
    ids = [i.id for i in incidents if i.id is not None]
    pupils = _pupils_of(session, col(IncidentPupil.pupil_id), col(IncidentPupil.incident_id), ids)
    parts: dict[int, str] = {}
    if me is not None and ids:
        parts = dict(
            session.exec(
                select(col(IncidentPupil.incident_id), col(IncidentPupil.part)).where(
                    col(IncidentPupil.incident_id).in_(ids), IncidentPupil.pupil_id == me
                )
            ).all()
        )
    shown = []
    for i in incidents:
        item = _shown(i)
        item["other_person"] = THIRD_PARTY if i.other_person else None
        item["pupils"] = _named(pupils.get(i.id or 0, []), me)
        if i.id in parts:
            item["my_part"] = parts[i.id]
        shown.append(item)
    return shown


def _reviews(session: Session, query: Any) -> list[dict[str, Any]]:
    return [_shown(r) for r in session.exec(query.order_by(col(MessageReview.id))).all()]


def _recorded(
    session: Session, actor: Principal, at: datetime, request: SubjectAccessRequest, how: str
) -> None:
    audit.record(
        session,
        actor=actor,
        at=at,
        action="access.subject_access_export",
        object_type="subject_access_request",
        object_id=request.id,
        school_id=request.school_id,
        details={"subject": f"{request.subject_type}:{request.subject_id}", "format": how},
    )


def _document(request: SubjectAccessRequest, at: datetime, about: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": {"type": request.subject_type, "id": request.subject_id},
        "request_id": request.id,
        "produced_at": at.isoformat(),
        "note": NOTE,
        **about,
        "withheld": WITHHELD,
    }


def pupil_export(
    *, session: Session, actor: Principal, at: datetime, pupil_id: int, request_id: int, how: str
) -> dict[str, Any]:
    """What is held about one pupil: their record, their contacts, the messages about them,
    reviews of those, consents and notices, and incidents they were part of."""
    request, _ = _request(session, actor, request_id, Whose.pupil, pupil_id)
    _recorded(session, actor, at, request, how)
    with snapshot_of(session) as moment:  # one moment of what is held, whatever commits
        return _pupil_document(moment, request, at, pupil_id)


def _pupil_document(session: Session, request: Any, at: datetime, pupil_id: int) -> dict[str, Any]:
    pupil = session.get(Pupil, pupil_id)
    if pupil is None:
        raise NotFound("No such pupil.")
    contacts = session.exec(
        select(Contact)
        .join(ContactPupil, col(ContactPupil.contact_id) == col(Contact.id))
        .where(ContactPupil.pupil_id == pupil_id)
        .order_by(col(Contact.id))
    ).all()
    about_me = select(MessagePupil.message_id).where(MessagePupil.pupil_id == pupil_id)
    incidents = session.exec(
        select(Incident)
        .join(IncidentPupil, col(IncidentPupil.incident_id) == col(Incident.id))
        .where(IncidentPupil.pupil_id == pupil_id)
        .order_by(col(Incident.id))
    ).all()
    guardians = session.exec(select(Guardian).where(Guardian.pupil_id == pupil_id)).all()
    consents = session.exec(select(Consent).where(Consent.pupil_id == pupil_id)).all()
    notices = session.exec(select(ParentNotice).where(ParentNotice.pupil_id == pupil_id)).all()
    return _document(
        request,
        at,
        {
            "pupil": _shown(pupil),
            # Parents and carers are third parties to the pupil's own request.
            "guardians": [
                {
                    "name": THIRD_PARTY,
                    "relationship": g.relationship,
                    "has_parental_responsibility": g.has_parental_responsibility,
                }
                for g in guardians
            ],
            "contacts": _contacts(session, contacts, pupil_id),
            "messages": _messages(
                session, select(Message).where(col(Message.id).in_(about_me)), pupil_id
            ),
            "reviews": _reviews(
                session, select(MessageReview).where(col(MessageReview.message_id).in_(about_me))
            ),
            "consents": [
                {
                    **_shown(c),
                    "given_by": "a parent or carer",
                }
                for c in consents
            ],
            "parent_notices": [_shown(n) for n in notices],
            "incidents": _incidents(session, incidents, pupil_id),
            "captured_messages": _captured(
                session,
                select(CapturedMessage).where(
                    col(CapturedMessage.id).in_(
                        select(CapturedPupil.captured_id).where(CapturedPupil.pupil_id == pupil_id)
                    )
                ),
                pupil_id,
            ),
        },
    )


def staff_export(
    *, session: Session, actor: Principal, at: datetime, staff_id: int, request_id: int, how: str
) -> dict[str, Any]:
    """What is held about one member of staff: their record and roles, the contacts they held
    or decided, the messages they logged, incidents they reported, reviews they wrote. Every
    pupil in it is a third party."""
    request, _ = _request(session, actor, request_id, Whose.staff, staff_id)
    _recorded(session, actor, at, request, how)
    with snapshot_of(session) as moment:  # one moment of what is held, whatever commits
        return _staff_document(moment, request, at, staff_id)


def _staff_document(session: Session, request: Any, at: datetime, staff_id: int) -> dict[str, Any]:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("No such member of staff.")
    roles = session.exec(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).all()
    held = session.exec(
        select(Contact).where(Contact.staff_id == staff_id).order_by(col(Contact.id))
    ).all()
    decided = session.exec(
        select(Contact).where(Contact.decided_by_id == staff_id).order_by(col(Contact.id))
    ).all()
    reported = session.exec(
        select(Incident).where(Incident.reporter_id == staff_id).order_by(col(Incident.id))
    ).all()
    return _document(
        request,
        at,
        {
            "staff": {
                **_shown(staff),
                "roles": sorted(roles),
            },
            "contacts_held": _contacts(session, held, None),
            "decisions_made": [_plain(c, *DECISION_FIELDS) for c in decided],
            "messages_logged": _messages(
                session, select(Message).where(Message.staff_id == staff_id), None
            ),
            "incidents_reported": _incidents(session, reported, None),
            "reviews_written": _reviews(
                session, select(MessageReview).where(MessageReview.reviewer_id == staff_id)
            ),
            "captured_on_their_contacts": _captured(
                session, select(CapturedMessage).where(CapturedMessage.staff_id == staff_id), None
            ),
        },
    )


def as_zip(document: dict[str, Any]) -> IO[bytes]:
    """The document with a README and a SHA-256 manifest."""
    subject = f"{document['subject']['type']} #{document['subject']['id']}"
    pack = Pack()
    readme = README.format(
        subject=subject, made=document["produced_at"], request=document["request_id"], note=NOTE
    )
    pack.add("README.txt", [readme.encode()])
    pack.add("subject-access.json", [json.dumps(document, indent=1).encode()])
    return pack.close()
