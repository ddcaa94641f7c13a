"""The evidence pack: one contact's or one pupil's whole record as a ZIP an investigator can check
with standard tools, away from contactlog.

It holds the records (JSON, and the log also as CSV), the change-record events about them with
their hashes, the latest signed checkpoint with its public key, a README, and `MANIFEST.sha256`
(checked with `sha256sum -c`). It is written to a temporary file as it is built, a batch of rows
at a time, so its size never decides the server's memory. Exporting one is an access event.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, SQLModel, col, select

from consent.models import Consent, ParentNotice
from contacts.capture.models import CapturedMessage, CapturedPupil, CaptureUpload
from contacts.incidents.models import Incident, IncidentPupil
from contacts.messages import message_views
from contacts.models import (
    Contact,
    ContactPupil,
    DeletionTask,
    Message,
    MessagePupil,
    platform_name,
)
from contacts.oversight import pack_proofs
from contacts.oversight.chronology import Story, contact_story, pupil_story, whole_story
from contacts.oversight.mentioned import People, mentioned
from contacts.oversight.pack import Pack
from contacts.oversight.review.export import CSV_COLUMNS, EXPORT_BATCH, csv_rows
from contacts.oversight.review.models import MessageReview
from contacts.oversight.review.service import LogFilter, record_access
from contacts.service import contact_in_scope
from core.db import snapshot_of
from core.directory.access import require_role
from core.directory.models import Guardian, Pupil, Role, School, Staff
from core.directory.pupils import pupil_in_scope
from core.directory.staff import public_staff
from core.principal import Principal
from core.record import (
    pack_verifier,
    proofs,
    seals,
)
from core.record.models import AuditEvent
from core.settings import Settings
from core.text import one_line

README = """contactlog evidence pack
========================

This archive holds {subject}: the records as contactlog held them when the pack was
made ({made}), and the change-record events about them, each with the proof that the trust's
log ({origin}) holds it.

To check it, with Python 3 and OpenSSL 3 and nothing else, and the verifier key your trust
published (obtained from the trust, not from this pack):

    unzip pack.zip -d pack && python3 pack/verify.py --vkey 'THE TRUST'S VERIFIER KEY'

(add --witness 'A WITNESS'S VERIFIER KEY' for each witness whose cosignature you require:
the local authority's, say, which saw the trust's log grow and would not cosign it rewritten)

It names any file, event or record altered, added or removed since the pack was made:
  - MANIFEST.note is the manifest (MANIFEST.sha256, the SHA-256 of every file, as
    `sha256sum -c MANIFEST.sha256` checks) signed with the trust's key;
  - each event in events.jsonl carries its log entry's inclusion proof (C2SP tlog-proof) up to
    a checkpoint of the log signed with the trust's key (checkpoint.txt is the latest);
  - records/sealed.jsonl holds each record in the canonical form whose SHA-256 ("sealed" in
    the events' details) the latest proven event about it carries.
vkey.txt is the key the pack was signed with: compare it with the one your trust published.
A checkpoint can also be checked against the trust's log later, on the server:
`contactlog audit verify --against checkpoint.txt --vkey vkey.txt`.

chronology.txt tells what happened in words, oldest first. Everyone the records mention is in
records/pupils.json, records/staff.json and
records/guardians.json (the ids in the other records are theirs), and records/messages.csv
names them beside their ids.
"""

UNCOSIGNED = """
NOTE: the pack's checkpoint is not cosigned by every witness of the trust's log: the {why}.
"""

REFUSED = """
WARNING: when this pack was made, the trust's log failed contactlog's own check, so no new
checkpoint was signed: {why}. Events after the last good checkpoint carry no proof, and the
verifier names them. The trust's DSLs were told.
"""


@dataclass(frozen=True)
class Scope:
    """Which rows belong in the pack, as subqueries of ids."""

    subject: str
    school_id: int
    # Whoever exports it: the people are named as the log's CSV names them for that reader.
    reader: Principal
    contacts: Any
    messages: Any
    consents: Any
    notices: Any
    incidents: Any
    # What the platform captured (contacts/capture), and so the uploads that brought it.
    captured: Any
    # Its chronology: what happened, in words, oldest first.
    story: Story
    # A concern about an adult and its case file (contacts/oversight/concern_pack.py), and the
    # files only such a pack holds (the case file in words, its attachments).
    concerns: Any = None
    own_files: Callable[[Session], Iterator[tuple[str, list[bytes]]]] | None = None


def _json(rows: Iterable[SQLModel]) -> bytes:
    # Rows as stored (an enum column holds its plain value): no warning for that.
    rows_ = [r.model_dump(mode="json", warnings=False) for r in rows]
    return json.dumps(rows_, indent=1).encode()


def _batches(session: Session, model: Any, ids: Any) -> Iterator[list[Any]]:
    after = 0
    while True:
        rows = list(
            session.exec(
                select(model)
                .where(col(model.id).in_(ids), col(model.id) > after)
                .order_by(col(model.id))
                .limit(EXPORT_BATCH)
            ).all()
        )
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _messages_jsonl(session: Session, ids: Any) -> Iterator[bytes]:
    for rows in _batches(session, Message, ids):
        yield "".join(v.model_dump_json() + "\n" for v in message_views(session, rows)).encode()


def _messages_csv(session: Session, scope: Scope) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for rows in _batches(session, Message, scope.messages):
        writer.writerows(csv_rows(session, scope.reader, message_views(session, rows)))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def _events(
    session: Session, scope: Scope, people: People, prover: proofs.Prover, sealing: list[int]
) -> Iterator[bytes]:
    """The events about the pack's records, in order; then those of `sealing` (the events that
    last sealed each record, by the seal index) not among them."""
    about = (
        ((col(AuditEvent.object_type) == "contact") & col(AuditEvent.object_id).in_(scope.contacts))
        | (
            (col(AuditEvent.object_type) == "message")
            & col(AuditEvent.object_id).in_(scope.messages)
        )
        | (
            (col(AuditEvent.object_type) == "consent")
            & col(AuditEvent.object_id).in_(scope.consents)
        )
        | (
            (col(AuditEvent.object_type) == "parent_notice")
            & col(AuditEvent.object_id).in_(scope.notices)
        )
        | (
            (col(AuditEvent.object_type) == "incident")
            & col(AuditEvent.object_id).in_(scope.incidents)
        )
        | (
            (col(AuditEvent.object_type) == "captured_message")
            & col(AuditEvent.object_id).in_(scope.captured)
        )
        | (
            (col(AuditEvent.object_type) == "capture_upload")
            & col(AuditEvent.object_id).in_(_uploads(scope))
        )
        | ((col(AuditEvent.object_type) == "pupil") & col(AuditEvent.object_id).in_(people.pupils))
        | ((col(AuditEvent.object_type) == "staff") & col(AuditEvent.object_id).in_(people.staff))
        | (
            (col(AuditEvent.object_type) == "guardian")
            & col(AuditEvent.object_id).in_(people.guardians)
        )
    )
    if scope.concerns is not None:
        about = about | (
            (col(AuditEvent.object_type) == "concern")
            & col(AuditEvent.object_id).in_(scope.concerns)
        )
    after, given = 0, set[int]()
    while True:
        rows = list(
            session.exec(
                select(AuditEvent)
                .where(about, col(AuditEvent.seq) > after)
                .order_by(col(AuditEvent.seq))
                .limit(EXPORT_BATCH)
            ).all()
        )
        if not rows:
            break
        yield "".join(json.dumps(_event(e, prover)) + "\n" for e in rows).encode()
        given.update(e.seq for e in rows)
        after = rows[-1].seq
    extra = [seq for seq in sealing if seq not in given]
    for start in range(0, len(extra), 500):
        rows = list(
            session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.seq).in_(extra[start : start + 500]))
                .order_by(col(AuditEvent.seq))
            ).all()
        )
        yield "".join(json.dumps(_event(e, prover)) + "\n" for e in rows).encode()


def _uploads(scope: Scope) -> Any:
    """The uploads that brought the pack's captured messages: each with its file's SHA-256."""
    return select(CapturedMessage.upload_id).where(col(CapturedMessage.id).in_(scope.captured))


def _kept(scope: Scope, people: People) -> list[tuple[str, Any]]:
    """Each kind of kept record in the pack, and which of them (ids, or a subquery of ids)."""
    kinds: list[tuple[str, Any]] = [
        ("contact", scope.contacts),
        (
            "deletion_task",
            select(DeletionTask.id).where(col(DeletionTask.contact_id).in_(scope.contacts)),
        ),
        ("message", scope.messages),
        (
            "message_review",
            select(MessageReview.id).where(col(MessageReview.message_id).in_(scope.messages)),
        ),
        ("consent", scope.consents),
        ("parent_notice", scope.notices),
        ("incident", scope.incidents),
        ("captured_message", scope.captured),
        ("capture_upload", _uploads(scope)),
    ]
    if scope.concerns is not None:
        kinds.append(("concern", scope.concerns))
    named = [("pupil", people.pupils), ("staff", people.staff), ("guardian", people.guardians)]
    return [*kinds, *named]


def _sealed_records(session: Session, scope: Scope, people: People) -> Iterator[bytes]:
    """Each record of the pack in the canonical form its events sealed, a line each."""
    conn = session.connection()
    for name, ids in _kept(scope, people):
        wanted = ids if isinstance(ids, list) else [i for i in session.exec(ids).all() if i]
        for start in range(0, len(wanted), EXPORT_BATCH):
            batch = seals.contents(conn, name, wanted[start : start + EXPORT_BATCH])
            yield "".join(
                json.dumps({"record": f"{name}:{i}", "content": found}, sort_keys=True) + "\n"
                for i, found in batch
            ).encode()


def _chronology(session: Session, scope: Scope, zone: ZoneInfo) -> bytes:
    """What happened, in words, oldest first, in the school's time: for a reader, not a check
    (the records and events beside it are what the verifier checks)."""
    lines = [f"The chronology of {scope.subject}, oldest first ({zone.key} time).", ""]
    for entry in whole_story(session, scope.reader, scope.story):
        lines.append(f"{entry.at.astimezone(zone):%Y-%m-%d %H:%M}  {entry.summary}")
    return ("\n".join(lines) + "\n").encode()


def _event(e: AuditEvent, prover: proofs.Prover) -> dict[str, Any]:
    """An event with everything needed to recompute its hash (its time as it was hashed), and
    the proof that the trust's log holds it (C2SP tlog-proof, its checkpoint included)."""
    proven = prover.proof(e.seq)
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor_id": e.actor_id,
        "school_id": e.school_id,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "reason": e.reason,
        "details": json.loads(e.details),
        "content_hash": e.content_hash,
        "log_index": proven.leaf_index if proven else None,
        "tlog_proof": proven.proof if proven else None,
    }


def build(session: Session, scope: Scope, *, made: datetime, settings: Settings) -> IO[bytes]:
    """The pack, as a file positioned at its start: one moment of the record (its records,
    their events as they all stood then), whatever commits meanwhile, every event proven
    against a checkpoint of its log signed now, and the manifest signed.

    The logs are brought up to date and signed in the request's own transaction, before the
    moment is taken: every event the moment holds has joined its log by then, and the proofs
    are read from the tiles this transaction wrote (contacts/oversight/pack_proofs.py)."""
    school = session.get(School, scope.school_id)
    assert school is not None
    proving = pack_proofs.prove(session, trust_id=school.trust_id, settings=settings, at=made)
    with snapshot_of(session) as moment:
        people = mentioned(moment, scope)
        sealing = pack_proofs.sealing_events(
            session, _kept(scope, people), newest=pack_proofs.newest_event(moment)
        )
        return _build(
            moment, scope, people, made=made, proving=proving, zone=settings.zone, sealing=sealing
        )


def _build(
    session: Session,
    scope: Scope,
    people: People,
    *,
    made: datetime,
    proving: pack_proofs.Proving,
    zone: ZoneInfo,
    sealing: list[int],
) -> IO[bytes]:
    pack = Pack(signer=(proving.origin, proving.key))
    readme = README.format(subject=scope.subject, made=made.isoformat(), origin=proving.origin)
    if proving.refused is not None:
        readme += REFUSED.format(why=proving.refused)
    for why in proving.uncosigned:
        readme += UNCOSIGNED.format(why=why)
    pack.add("README.txt", [readme.encode()])
    contacts = session.exec(select(Contact).where(col(Contact.id).in_(scope.contacts))).all()
    pack.add("records/contacts.json", [_json(contacts)])
    links = session.exec(
        select(ContactPupil).where(col(ContactPupil.contact_id).in_(scope.contacts))
    ).all()
    pack.add("records/contact_pupils.json", [_json(links)])
    tasks = session.exec(
        select(DeletionTask).where(col(DeletionTask.contact_id).in_(scope.contacts))
    ).all()
    pack.add("records/deletion_tasks.json", [_json(tasks)])
    pack.add("records/messages.jsonl", _messages_jsonl(session, scope.messages))
    pack.add("records/messages.csv", _messages_csv(session, scope))
    for name, model, ids in (
        ("consents", Consent, scope.consents),
        ("parent_notices", ParentNotice, scope.notices),
        ("incidents", Incident, scope.incidents),
        ("captured_messages", CapturedMessage, scope.captured),
        ("capture_uploads", CaptureUpload, _uploads(scope)),
    ):
        pack.add(
            f"records/{name}.json",
            [_json(session.exec(select(model).where(col(model.id).in_(ids))).all())],
        )
    pack.add(
        "records/pupils.json",
        [_json(session.exec(select(Pupil).where(col(Pupil.id).in_(people.pupils))).all())],
    )
    staff = session.exec(select(Staff).where(col(Staff.id).in_(people.staff))).all()
    pack.add("records/staff.json", [_json(public_staff(session, staff, made))])
    pack.add(
        "records/guardians.json",
        [_json(session.exec(select(Guardian).where(col(Guardian.id).in_(people.guardians))).all())],
    )
    if scope.own_files is not None:
        for name, chunks in scope.own_files(session):
            pack.add(name, chunks)
    pack.add("records/sealed.jsonl", _sealed_records(session, scope, people))
    pack.add("chronology.txt", [_chronology(session, scope, zone)])
    pack.add("events.jsonl", _events(session, scope, people, proving.prover, sealing))
    if proving.checkpoint is not None:
        pack.add("checkpoint.txt", [proving.checkpoint.note.encode()])
    pack.add("vkey.txt", ["".join(f"{v}\n" for v in proving.vkeys).encode()])
    pack.add("verify.py", [Path(pack_verifier.__file__).read_bytes()])
    return pack.close()


def contact_scope(*, session: Session, actor: Principal, at: datetime, contact_id: int) -> Scope:
    contact, school, holder = contact_in_scope(session, actor, contact_id, readers=(Role.dsl,))
    require_role(actor, school, Role.dsl, action="export an evidence pack")
    assert school.id is not None
    messages = select(Message.id).where(Message.contact_id == contact_id)
    record_access(session, actor, at, "access.evidence_pack", LogFilter(), school.id)
    return Scope(
        subject=f"the record of contact #{contact_id} of {one_line(school.name)}: "
        f"{one_line(platform_name(contact.platform, contact.platform_name))} contact held by "
        f"{one_line(holder.name)}",
        school_id=school.id,
        reader=actor,
        contacts=select(Contact.id).where(Contact.id == contact_id),
        messages=messages,
        consents=select(Consent.id).where(Consent.contact_id == contact_id),
        notices=select(ParentNotice.id).where(ParentNotice.contact_id == contact_id),
        incidents=select(Incident.id).where(col(Incident.id).is_(None)),
        captured=select(CapturedMessage.id).where(CapturedMessage.contact_id == contact_id),
        story=contact_story(contact_id),
    )


def pupil_scope(*, session: Session, actor: Principal, at: datetime, pupil_id: int) -> Scope:
    pupil, school = pupil_in_scope(session, actor, pupil_id, action="export an evidence pack")
    require_role(actor, school, Role.dsl, action="export an evidence pack")
    assert school.id is not None
    where = LogFilter(pupil_id=pupil_id)
    record_access(session, actor, at, "access.evidence_pack", where, school.id)
    return Scope(
        # The reader of a pack needs to know whose it is (the file's name keeps the number).
        subject=f"the record of {one_line(pupil.given_name)} {one_line(pupil.family_name)}, "
        f"pupil #{pupil_id} of {one_line(school.name)}",
        school_id=school.id,
        reader=actor,
        contacts=select(ContactPupil.contact_id).where(ContactPupil.pupil_id == pupil_id),
        messages=select(MessagePupil.message_id).where(MessagePupil.pupil_id == pupil_id),
        consents=select(Consent.id).where(Consent.pupil_id == pupil_id),
        notices=select(ParentNotice.id).where(ParentNotice.pupil_id == pupil_id),
        incidents=select(IncidentPupil.incident_id).where(IncidentPupil.pupil_id == pupil_id),
        captured=select(CapturedPupil.captured_id).where(CapturedPupil.pupil_id == pupil_id),
        story=pupil_story(pupil_id),
    )
