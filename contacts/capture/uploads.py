"""An export from a school-owned account, uploaded: read whole or refused whole (the file and
line), its file kept with its SHA-256 on the record with who uploaded it, when and from which
device, every message in it stored once however many uploads hold it, each placed under its
contact and matched to the log (contacts/capture/reconcile.py)."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from contacts.capture import meta, reconcile, whatsapp, workspace
from contacts.capture.exports import MAX_UPLOAD_BYTES, Exported, ExportRefused
from contacts.capture.models import (
    CapturedMessage,
    CapturedPupil,
    CaptureFile,
    CaptureName,
    CaptureUpload,
    Finding,
    Source,
)
from contacts.models import Direction, Platform
from core.directory.access import require_role, visible_school
from core.directory.models import Pupil, Role, School
from core.errors import Forbidden, InvalidInput, RuleBroken
from core.inputs import Forbid, RecordId
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals

# Which platforms each source's exports come from.
PLATFORMS: dict[Source, frozenset[Platform]] = {
    Source.whatsapp_export: frozenset({Platform.whatsapp}),
    Source.meta_export: frozenset({Platform.instagram, Platform.facebook}),
    Source.google_chat_export: frozenset({Platform.google_chat}),
    Source.teams_graph: frozenset({Platform.teams}),
}
# Records sealed in one event: an export of 40 000 messages is eighty events, not one huge one.
SEALED_PER_EVENT = 500


class UploadIn(Forbid):
    """What the uploader says of the file: whose account, which export, the phone's clock."""

    platform: Platform
    school_account: str = Field(min_length=1, max_length=200)
    source: Source
    # The phone's time zone (IANA); the school's by default. WhatsApp writes no zone.
    zone: str | None = Field(default=None, max_length=60)
    date_order: whatsapp.DateOrder = whatsapp.DateOrder.dmy
    # The chat's name (WhatsApp: the other person's, or the group's), if not as the export says.
    conversation: str | None = Field(default=None, min_length=1, max_length=200)
    # The name the school account's own messages appear under in the export, if not yet known.
    school_name: str | None = Field(default=None, min_length=1, max_length=200)
    # Who the other names in the export are: name → pupil, kept for later uploads.
    names: dict[str, RecordId] = Field(default_factory=dict, max_length=200)


class UploadPublic(BaseModel):
    id: int
    platform: str
    school_account: str
    source: str
    file_name: str
    sha256: str
    size: int
    uploaded_by_id: int
    uploaded_at: datetime
    messages: int
    new_messages: int
    # True when this very file had been uploaded before: nothing new was stored.
    repeated: bool = False
    # What the new messages were found to be, by finding.
    findings: dict[str, int] = {}
    # Names in the export no one has said who they are.
    unknown_names: list[str] = []


def upload(
    *,
    session: Session,
    actor: Principal,
    policy: Policy,
    at: datetime,
    upload_in: UploadIn,
    file_name: str,
    data: bytes,
    device: str,
) -> UploadPublic:
    """Store an export's messages, placed and matched; the same file again is recognised and
    stores nothing. Refused whole (422, naming the file and line) if any of it cannot be read."""
    school = _may_upload(session, actor, upload_in)
    assert school.id is not None
    assert actor.staff_id is not None
    if upload_in.platform not in PLATFORMS[upload_in.source]:
        raise RuleBroken(f"A {upload_in.source.value} export is not of {upload_in.platform.value}.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise RuleBroken(f"{file_name}: larger than {MAX_UPLOAD_BYTES // 2**20} MiB.")
    digest = hashlib.sha256(data).hexdigest()
    earlier = session.exec(
        select(CaptureUpload).where(
            CaptureUpload.school_id == school.id, CaptureUpload.sha256 == digest
        )
    ).first()
    if earlier is not None:
        return UploadPublic.model_validate({**earlier.model_dump(), "repeated": True})
    zone = _zone(upload_in.zone, policy, school)
    try:
        exported = _parsed(upload_in, data, name=_shown_name(file_name), zone=zone)
    except ExportRefused as refused:
        raise InvalidInput(str(refused)) from None
    names = _names(session, actor, school, upload_in, exported, at=at)
    record = CaptureUpload(
        school_id=school.id,
        platform=upload_in.platform,
        school_account=upload_in.school_account.strip(),
        source=upload_in.source,
        file_name=_shown_name(file_name),
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
        session, record, exported, names, policy=policy, zone=policy.zone(school)
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
            sealed=seals.seal(session, *(("captured_message", m.id) for m in batch)),
        )
    findings = Counter(m.finding for m in stored)
    return UploadPublic.model_validate(
        {**record.model_dump(), "findings": dict(findings), "unknown_names": sorted(unknown)}
    )


def _may_upload(session: Session, actor: Principal, upload_in: UploadIn) -> School:
    """A DSL of the school, for any of its accounts; a member of staff, for a school account
    they hold a contact on (the school phone they use)."""
    if actor.school_id is None or actor.staff_id is None:
        raise Forbidden("Exports are uploaded by a member of staff.")
    school = visible_school(session, actor, actor.school_id)
    assert school.id is not None
    if actor.acts_as(Role.dsl, school_id=school.id, trust_id=school.trust_id):
        return school
    held = reconcile.contacts_on(
        session,
        school_id=school.id,
        platform=upload_in.platform,
        account=upload_in.school_account,
    )
    if not any(h.contact.staff_id == actor.staff_id for h in held):
        require_role(
            actor, school, Role.dsl, action="upload exports of accounts they hold no contact on"
        )
    return school


def _shown_name(file_name: str) -> str:
    """The file's own name, never a path: for showing and for the record only."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())[:255]
    return cleaned or "upload"


def _zone(name: str | None, policy: Policy, school: School) -> ZoneInfo:
    if name is None:
        return policy.zone(school)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"zone: {name!r} is not a time zone (e.g. Europe/London).") from None


def _parsed(upload_in: UploadIn, data: bytes, *, name: str, zone: ZoneInfo) -> list[Exported]:
    if upload_in.source == Source.whatsapp_export:
        return whatsapp.parse_upload(
            data,
            name=name,
            zone=zone,
            order=upload_in.date_order,
            conversation=upload_in.conversation,
        )
    if upload_in.source == Source.google_chat_export:
        return workspace.parse_takeout(data, name=name)
    if upload_in.source == Source.teams_graph:
        return workspace.parse_graph(data, name=name)
    return meta.parse_upload(data, name=name)


def _names(
    session: Session,
    actor: Principal,
    school: School,
    upload_in: UploadIn,
    exported: list[Exported],
    *,
    at: datetime,
) -> dict[str, CaptureName]:
    """Who each name of this account's exports is: those already known, and those this upload
    says (each new or changed one on the record)."""
    assert school.id is not None
    assert actor.staff_id is not None
    account = upload_in.school_account.strip()
    known = {
        n.name: n
        for n in session.exec(
            select(CaptureName).where(
                CaptureName.school_id == school.id, CaptureName.platform == upload_in.platform
            )
        ).all()
        if reconcile.account_key(n.school_account) == reconcile.account_key(account)
    }
    said: dict[str, tuple[int | None, bool]] = {
        name.strip(): (pupil_id, False) for name, pupil_id in upload_in.names.items()
    }
    if upload_in.school_name is not None:
        said[upload_in.school_name.strip()] = (None, True)
    if said:
        pupils = {pid for pid, _ in said.values() if pid is not None}
        found = set(
            session.exec(
                select(Pupil.id).where(col(Pupil.id).in_(pupils), Pupil.school_id == school.id)
            ).all()
        )
        if pupils - found:
            raise RuleBroken("names: every pupil named must be a pupil of your school.")
    for name, (pupil_id, is_school) in said.items():
        entry = known.get(name)
        if entry is not None and (entry.pupil_id, entry.is_school) == (pupil_id, is_school):
            continue
        if entry is None:
            entry = CaptureName(
                school_id=school.id,
                platform=upload_in.platform,
                school_account=account,
                name=name,
                named_by_id=actor.staff_id,
                named_at=at,
            )
        entry.pupil_id, entry.is_school = pupil_id, is_school
        entry.named_by_id, entry.named_at = actor.staff_id, at
        session.add(entry)
        session.flush()
        assert entry.id is not None
        audit.record(
            session,
            actor=actor,
            at=at,
            action="capture.name_said",
            object_type="capture_name",
            object_id=entry.id,
            school_id=school.id,
            details={"pupil_id": pupil_id, "is_school": is_school},
            sealed=seals.seal(session, ("capture_name", entry.id)),
        )
        known[name] = entry
    if not any(n.is_school for n in known.values()):
        senders = sorted({m.sender for m in exported})[:20]
        raise RuleBroken(
            "school_name: say which name in the export is the school account's own (the names "
            f"are: {', '.join(senders)})."
        )
    return known


def _store(
    session: Session,
    record: CaptureUpload,
    exported: list[Exported],
    names: dict[str, CaptureName],
    *,
    policy: Policy,
    zone: ZoneInfo,
) -> tuple[list[CapturedMessage], set[str]]:
    """The messages no earlier upload brought, placed and matched: (those stored, the names in
    them no one has said who they are)."""
    assert record.id is not None
    school_names = {n for n, entry in names.items() if entry.is_school}
    pupil_of = {n: e.pupil_id for n, e in names.items() if e.pupil_id is not None}
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
    stored: list[CapturedMessage] = []
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
                entries.get(placed.contact_id, []),
                direction=direction,
                sent_at=m.sent_at,
                pupil_ids=pupil_ids,
                policy=policy,
            )
            if entry is not None:
                placed.matched_message_id = entry.id
                if placed.finding == Finding.not_logged:
                    placed.finding = Finding.logged
        captured = CapturedMessage(
            school_id=record.school_id,
            upload_id=record.id,
            platform=record.platform,
            school_account=record.school_account,
            conversation=m.conversation[:200],
            sender=m.sender[:200],
            direction=direction,
            sent_at=m.sent_at,
            content=m.text,
            attachment=m.attachment[:300] if m.attachment else None,
            deleted=m.deleted,
            edited=m.edited,
            source_file=m.file[:500],
            source_line=m.line,
            fingerprint=fingerprint,
            contact_id=placed.contact_id,
            staff_id=placed.staff_id,
            finding=placed.finding,
            flags=",".join(placed.flags),
            unknown=", ".join(unknown)[:500],
            matched_message_id=placed.matched_message_id,
        )
        session.add(captured)
        stored.append(captured)
        taking_part.append(sorted(pupil_ids))
    session.flush()
    for captured, pupils in zip(stored, taking_part, strict=True):
        assert captured.id is not None
        session.add_all(CapturedPupil(captured_id=captured.id, pupil_id=p) for p in pupils)
    session.flush()
    return stored, unknown_names


def _fingerprints(record: CaptureUpload, exported: list[Exported]) -> dict[int, str]:
    """One per message, the same in every upload that holds it: the account, the conversation,
    who, the minute (Android's exports have no seconds), what was said, and which of several
    alike in that minute it is."""
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
        text = "\x1f".join((*key, str(seen[key])))
        found[i] = hashlib.sha256(text.encode()).hexdigest()
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
