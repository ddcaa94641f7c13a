"""The evidence pack of a concern about an adult: its case file with the people in it named,
its attachments (each beside the SHA-256 its record sealed), the records it refers to, their
events with their proofs, the checkpoint and the signed manifest — for its readers only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import Session, col, select

from consent.models import Consent, ParentNotice
from contacts.capture.models import CapturedMessage
from contacts.concerns import case_file, readers
from contacts.concerns.models import Concern, ConcernFile, ConcernRecord, RecordKind
from contacts.concerns.schemas import ConcernPublic
from contacts.incidents.models import Incident
from contacts.models import Message
from contacts.oversight.chronology import Story
from contacts.oversight.evidence import Scope
from core.directory.models import School
from core.models import OutboxEmail
from core.policy import Policy
from core.principal import Principal
from core.record import audit
from core.text import one_line

# Where an attachment goes in the pack: by its id and its type, never by the name it came with.
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "txt",
    "application/zip": "zip",
}


def _referenced(concern_id: int, kind: RecordKind) -> Any:
    return select(ConcernRecord.record_id).where(
        ConcernRecord.concern_id == concern_id, ConcernRecord.record_type == kind
    )


def concern_scope(
    *, session: Session, actor: Principal, policy: Policy, at: datetime, concern_id: int
) -> Scope:
    """What a concern's pack holds, for one of its readers; making it is on the record."""
    concern = readers.get_readable(session, actor, concern_id)
    school = session.get(School, concern.school_id)
    assert school is not None
    assert school.id is not None
    audit.record(
        session,
        actor=actor,
        at=at,
        action="access.evidence_pack",
        object_type="concern",
        object_id=concern_id,
        school_id=concern.school_id,
    )
    contacts = _referenced(concern_id, RecordKind.contact)
    messages = select(Message.id).where(
        or_(
            col(Message.id).in_(_referenced(concern_id, RecordKind.message)),
            col(Message.contact_id).in_(contacts),
        )
    )
    incidents = _referenced(concern_id, RecordKind.incident)
    file = case_file.view(session, concern, at)
    return Scope(
        subject=f"the case file of concern #{concern_id} of {one_line(school.name)}, about "
        f"{one_line(file.subject)}",
        school_id=school.id,
        reader=actor,
        contacts=contacts,
        messages=messages,
        consents=select(Consent.id).where(col(Consent.contact_id).in_(contacts)),
        notices=select(ParentNotice.id).where(col(ParentNotice.contact_id).in_(contacts)),
        incidents=incidents,
        captured=select(CapturedMessage.id).where(
            or_(
                col(CapturedMessage.id).in_(_referenced(concern_id, RecordKind.captured_message)),
                col(CapturedMessage.contact_id).in_(contacts),
            )
        ),
        story=Story(
            contact_ids=contacts,
            pupil_id=None,
            messages=col(Message.id).in_(messages),
            incidents=col(Incident.id).in_(incidents),
            emails=col(OutboxEmail.contact_id).in_(contacts),
        ),
        concerns=select(Concern.id).where(Concern.id == concern_id),
        own_files=lambda moment: _case_files(moment, concern_id, at, policy.zone(school)),
    )


def _case_files(
    session: Session, concern_id: int, at: datetime, zone: ZoneInfo
) -> Iterator[tuple[str, list[bytes]]]:
    concern = session.get(Concern, concern_id)
    assert concern is not None
    file = case_file.view(session, concern, at)
    yield "records/concern.json", [file.model_dump_json(indent=1).encode()]
    yield "case_file.txt", [_in_words(file, zone).encode()]
    for attachment in file.attachments:
        stored = session.get(ConcernFile, attachment.id)
        if stored is None or stored.data is None:
            continue  # removed under the retention schedule: its SHA-256 stays in the record
        extension = EXTENSIONS.get(attachment.media_type, "bin")
        yield f"attachments/{attachment.id}.{extension}", [stored.data]
    index = [
        {
            "file": f"attachments/{a.id}.{EXTENSIONS.get(a.media_type, 'bin')}",
            "name_given": a.file_name,
            "sha256_sealed": a.sha256,
            "added_by": a.added_by,
            "added_at": a.added_at.isoformat(),
        }
        for a in file.attachments
    ]
    yield "attachments/index.json", [json.dumps(index, indent=1).encode()]


def _in_words(file: ConcernPublic, zone: ZoneInfo) -> str:
    """The case file as a person reads it, oldest first, in the school's time."""

    def when(moment: datetime) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"

    kind = "An allegation" if file.kind == "allegation" else "A low-level concern"
    lines = [
        f"{kind} about {file.subject}, raised by {file.raised_by} on {when(file.raised_at)}"
        + (" (a self-report)" if file.self_report else "")
        + ".",
        f"What happened ({when(file.happened_at)}): {one_line(file.what_happened)}",
        "",
    ]
    entries: list[tuple[datetime, str]] = []
    for r in file.referrals:
        entries.append(
            (
                r.recorded_at,
                f"Referred to {r.agency.value.upper()} on {r.referred_on.isoformat()}"
                + (f" ({one_line(r.officer)})" if r.officer else "")
                + (f", reference {one_line(r.reference)}" if r.reference else "")
                + f"; recorded by {r.recorded_by}.",
            )
        )
    for n in file.notes:
        why = f" Because: {one_line(n.reason)}" if n.reason else ""
        entries.append(
            (n.written_at, f"{n.kind.value.title()} by {n.written_by}: {one_line(n.text)}{why}")
        )
    for a in file.actions:
        done = f", done {when(a.done_at)}" if a.done_at else ""
        entries.append(
            (a.set_at, f"Action for {a.owner} by {a.due_on.isoformat()}: {one_line(a.what)}{done}.")
        )
    for f in file.attachments:
        entries.append(
            (f.added_at, f"Attached by {f.added_by}: {one_line(f.file_name)} (SHA-256 {f.sha256}).")
        )
    if file.closed_at is not None and file.outcome is not None:
        entries.append(
            (
                file.closed_at,
                f"Closed: {file.outcome.value.replace('_', ' ')} on "
                f"{file.outcome_on}. {one_line(file.outcome_reason or '')}",
            )
        )
    for moment, line in sorted(entries, key=lambda e: e[0]):
        lines.append(f"{when(moment)}  {line}")
    return "\n".join(lines) + "\n"
