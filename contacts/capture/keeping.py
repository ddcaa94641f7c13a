"""What an export or a platform's delivery leaves on the record: the upload with its file and
SHA-256, each message no earlier one held (one per message, by its fingerprint), placed under
its contact and matched to the log (contacts/capture/reconcile.py), sealed a few hundred to an
event."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from contacts.capture import reconcile
from contacts.capture.exports import Exported
from contacts.capture.models import (
    CapturedMessage,
    CapturedPupil,
    CaptureFile,
    CaptureUpload,
    Finding,
    Source,
)
from contacts.models import Direction
from core.db import table_of
from core.directory.models import School
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals

# Records sealed in one event: an export of 40 000 messages is eighty events, not one huge one.
SEALED_PER_EVENT = 500
_captured = table_of(CapturedMessage)
_captured_pupils = table_of(CapturedPupil)


@dataclass(frozen=True)
class Stored:
    """A captured message as written: its id, what it was found to be, and its seal."""

    id: int
    finding: str
    seal: str


class UploadPublic(BaseModel):
    id: int
    platform: str
    school_account: str
    source: str
    file_name: str
    sha256: str
    size: int
    uploaded_by_id: int | None
    uploaded_at: datetime
    messages: int
    new_messages: int
    # True when this very file had been uploaded before: nothing new was stored.
    repeated: bool = False
    # What the new messages were found to be, by finding.
    findings: dict[str, int] = {}
    # Names in the export no one has said who they are.
    unknown_names: list[str] = []


def repeated(session: Session, *, school_id: int, data: bytes) -> UploadPublic | None:
    """The earlier upload of this very file at the school, if there was one."""
    digest = hashlib.sha256(data).hexdigest()
    earlier = session.exec(
        select(CaptureUpload).where(
            CaptureUpload.school_id == school_id, CaptureUpload.sha256 == digest
        )
    ).first()
    if earlier is None:
        return None
    return UploadPublic.model_validate({**earlier.model_dump(), "repeated": True})


def keep(
    session: Session,
    *,
    actor: Principal,
    policy: Policy,
    at: datetime,
    school: School,
    source: Source,
    platform: str,
    account: str,
    file_name: str,
    data: bytes,
    device: str,
    zone: ZoneInfo,
    exported: list[Exported],
    school_names: set[str],
    pupil_of: dict[str, int],
) -> UploadPublic:
    """An export (or a platform's delivery) kept: its file and hash, each message it holds that
    no earlier one did, placed and matched, all on the record."""
    assert school.id is not None
    digest = hashlib.sha256(data).hexdigest()
    record = CaptureUpload(
        school_id=school.id,
        platform=platform,
        school_account=account,
        source=source,
        file_name=file_name,
        sha256=digest,
        size=len(data),
        uploaded_by_id=actor.staff_id,
        uploaded_at=at,
        device=device[:200],
        zone=zone.key,
        messages=len(exported),
        new_messages=0,
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    session.add(CaptureFile(upload_id=record.id, data=data))
    stored, unknown = _store(
        session,
        record,
        exported,
        school_names=school_names,
        pupil_of=pupil_of,
        policy=policy,
        zone=policy.zone(school),
    )
    record.new_messages = len(stored)
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        at=at,
        action="capture.uploaded",
        object_type="capture_upload",
        object_id=record.id,
        school_id=school.id,
        details={"sha256": digest, "messages": len(exported), "new": len(stored)},
        sealed=seals.seal(session, ("capture_upload", record.id)),
    )
    for start in range(0, len(stored), SEALED_PER_EVENT):
        batch = stored[start : start + SEALED_PER_EVENT]
        audit.record(
            session,
            actor=actor,
            at=at,
            action="capture.messages_stored",
            object_type="capture_upload",
            object_id=record.id,
            school_id=school.id,
            details={"first": batch[0].id, "count": len(batch)},
            sealed={f"captured_message:{m.id}": m.seal for m in batch},
        )
    findings = Counter(m.finding for m in stored)
    return UploadPublic.model_validate(
        {**record.model_dump(), "findings": dict(findings), "unknown_names": sorted(unknown)}
    )


def _store(
    session: Session,
    record: CaptureUpload,
    exported: list[Exported],
    *,
    school_names: set[str],
    pupil_of: dict[str, int],
    policy: Policy,
    zone: ZoneInfo,
) -> tuple[list[Stored], set[str]]:
    """The messages no earlier upload brought, placed and matched: (those stored, the names in
    them no one has said who they are)."""
    assert record.id is not None
    # Who else is in each conversation: a message the school sent went to them.
    others: dict[str, set[str]] = {}
    for m in exported:
        if m.sender not in school_names:
            others.setdefault(m.conversation, set()).add(m.sender)
    fingerprints = _fingerprints(record, exported)
    already = _stored_already(session, record.school_id, list(fingerprints.values()))
    held = reconcile.contacts_on(
        session, school_id=record.school_id, platform=record.platform, account=record.school_account
    )
    fresh = [(m, fingerprints[i]) for i, m in enumerate(exported) if fingerprints[i] not in already]
    entries = (
        reconcile.entries_near(
            session,
            contact_ids=reconcile.contact_ids_of(held),
            start=min(m.sent_at for m, _ in fresh),
            end=max(m.sent_at for m, _ in fresh),
            policy=policy,
        )
        if fresh
        else {}
    )
    rows: list[dict[str, Any]] = []
    taking_part: list[list[int]] = []
    unknown_names: set[str] = set()
    seen: set[str] = set()
    for m, fingerprint in fresh:
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        sent = m.sender in school_names
        people = (others.get(m.conversation) or {m.conversation}) if sent else {m.sender}
        unknown = sorted(p for p in people if p not in pupil_of and p not in school_names)
        unknown_names.update(unknown)
        pupil_ids = {pupil_of[p] for p in people if p in pupil_of}
        placed = reconcile.place(
            held, sent_at=m.sent_at, pupil_ids=pupil_ids, unknown=bool(unknown), zone=zone
        )
        direction = Direction.sent if sent else Direction.received
        if placed.contact_id is not None:
            entry = reconcile.covering(
                entries.get(placed.contact_id),
                direction=direction,
                sent_at=m.sent_at,
                pupil_ids=pupil_ids,
                policy=policy,
            )
            if entry is not None:
                placed.matched_message_id = entry.id
                if placed.finding == Finding.not_logged:
                    placed.finding = Finding.logged
        rows.append(
            {
                "school_id": record.school_id,
                "upload_id": record.id,
                "platform": record.platform,
                "school_account": record.school_account,
                "conversation": m.conversation[:200],
                "sender": m.sender[:200],
                "direction": direction.value,
                "sent_at": m.sent_at,
                "content": m.text,
                "attachment": m.attachment[:300] if m.attachment else None,
                "deleted": m.deleted,
                "edited": m.edited,
                "source_file": m.file[:500],
                "source_line": m.line,
                "fingerprint": fingerprint,
                "contact_id": placed.contact_id,
                "staff_id": placed.staff_id,
                "finding": placed.finding.value,
                "flags": ",".join(placed.flags),
                "unknown": ", ".join(unknown)[:500],
                "matched_message_id": placed.matched_message_id,
                "flagged_message_id": None,
                "redacted_at": None,
            }
        )
        taking_part.append(sorted(pupil_ids))
    return _inserted(session, rows, taking_part), unknown_names


def _written(conn: Connection, batch: list[dict[str, Any]]) -> list[int]:
    """A batch of captured messages inserted, their ids in order. PostgreSQL takes its ids from
    the sequence first and the rows as one prepared statement, many times (a thousand rows'
    RETURNING is one huge statement for the driver to parse: seven times slower); SQLite
    returns them from one statement."""
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.execute(
                sa.text(
                    "SELECT nextval(pg_get_serial_sequence('captured_message', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": len(batch)},
            ).scalars()
        )
        conn.execute(
            sa.insert(_captured), [{**r, "id": i} for r, i in zip(batch, ids, strict=True)]
        )
        return [int(i) for i in ids]
    returned = conn.execute(
        sa.insert(_captured).returning(_captured.c.id, sort_by_parameter_order=True), batch
    )
    return list(returned.scalars().all())


def _inserted(
    session: Session, rows: list[dict[str, Any]], taking_part: list[list[int]]
) -> list[Stored]:
    """The rows written as plain inserts (an export is tens of thousands of them: no objects),
    each sealed from what was written, as a logged entry is, without reading it back."""
    conn = session.connection()
    kept = seals.KEPT["captured_message"]
    stored: list[Stored] = []
    for start in range(0, len(rows), 1_000):
        batch = rows[start : start + 1_000]
        ids = _written(conn, batch)
        pupils = taking_part[start : start + 1_000]
        links = [
            {"captured_id": i, "pupil_id": p}
            for i, group in zip(ids, pupils, strict=True)
            for p in group
        ]
        if links:
            conn.execute(sa.insert(_captured_pupils), links)
        for row, captured_id, group in zip(batch, ids, pupils, strict=True):
            content = seals.content(
                kept, {**row, "id": captured_id}, {"pupils": [[p] for p in group]}
            )
            stored.append(
                Stored(captured_id, row["finding"], seals.digest("captured_message", content))
            )
    return stored


def fingerprint_of_id(platform: str, platform_id: str) -> str:
    """The fingerprint of a message the platform gave an id of its own (Takeout, Graph, the
    WhatsApp webhook): the id alone, whatever else a later delivery says of it."""
    return _digest((platform, "id", platform_id), 1)


def _digest(key: tuple[str, ...], nth: int) -> str:
    return hashlib.sha256("\x1f".join((*key, str(nth))).encode()).hexdigest()


def _fingerprints(record: CaptureUpload, exported: list[Exported]) -> dict[int, str]:
    """One per message, the same in every upload that holds it: the platform's own id where it
    gives one; else the account, the conversation, who, the minute (Android's exports have no
    seconds), what was said, and which of several alike in that minute it is."""
    seen: Counter[tuple[str, ...]] = Counter()
    found = {}
    for i, m in enumerate(exported):
        if m.platform_id:
            key: tuple[str, ...] = (record.platform, "id", m.platform_id)
        else:
            minute = m.sent_at.replace(second=0, microsecond=0).isoformat()
            key = (
                record.platform,
                reconcile.account_key(record.school_account),
                m.conversation,
                m.sender,
                minute,
                m.text,
                m.attachment or "",
            )
        seen[key] += 1
        found[i] = _digest(key, 1 if m.platform_id else seen[key])
    return found


def _stored_already(session: Session, school_id: int, fingerprints: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(fingerprints), 500):
        chunk = fingerprints[start : start + 500]
        found.update(
            session.exec(
                select(CapturedMessage.fingerprint).where(
                    CapturedMessage.school_id == school_id,
                    col(CapturedMessage.fingerprint).in_(chunk),
                )
            ).all()
        )
    return found
