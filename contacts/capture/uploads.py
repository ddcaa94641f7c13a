"""An export from a school-owned account, uploaded: who may (the account's holder, the DSL),
which export of which platform, the phone's clock, who the names in it are; read whole or
refused whole (the file and line), then kept (contacts/capture/keeping.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field
from sqlmodel import Session, col, select

from contacts.capture import keeping, meta, reconcile, whatsapp, workspace
from contacts.capture.exports import MAX_UPLOAD_BYTES, Exported, ExportRefused
from contacts.capture.models import (
    CaptureName,
    CaptureUpload,
    Source,
)
from contacts.models import Platform
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
) -> keeping.UploadPublic:
    """Store an export's messages, placed and matched; the same file again is recognised and
    stores nothing. Refused whole (422, naming the file and line) if any of it cannot be read."""
    school = _may_upload(session, actor, upload_in)
    assert school.id is not None
    assert actor.staff_id is not None
    if upload_in.platform not in PLATFORMS[upload_in.source]:
        raise RuleBroken(f"A {upload_in.source.value} export is not of {upload_in.platform.value}.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise RuleBroken(f"{file_name}: larger than {MAX_UPLOAD_BYTES // 2**20} MiB.")
    earlier = keeping.repeated(session, school_id=school.id, data=data)
    if earlier is not None:
        return earlier
    zone = _zone(upload_in.zone, policy, school)
    try:
        exported = _parsed(upload_in, data, name=_shown_name(file_name), zone=zone)
    except ExportRefused as refused:
        raise InvalidInput(str(refused)) from None
    names = _names(session, actor, school, upload_in, exported, at=at)
    return keeping.keep(
        session,
        actor=actor,
        policy=policy,
        at=at,
        school=school,
        source=Source(upload_in.source),
        platform=upload_in.platform,
        account=upload_in.school_account.strip(),
        file_name=_shown_name(file_name),
        data=data,
        device=device,
        zone=zone,
        exported=exported,
        school_names={n for n, e in names.items() if e.is_school},
        pupil_of={n: e.pupil_id for n, e in names.items() if e.pupil_id is not None},
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


def known_names(
    session: Session, *, school_id: int, platform: str, account: str
) -> dict[str, CaptureName]:
    """Who each name of this school account's exports is, as said so far."""
    return {
        n.name: n
        for n in session.exec(
            select(CaptureName).where(
                CaptureName.school_id == school_id, CaptureName.platform == platform
            )
        ).all()
        if reconcile.account_key(n.school_account) == reconcile.account_key(account)
    }


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
    known = known_names(session, school_id=school.id, platform=upload_in.platform, account=account)
    said: dict[str, tuple[int | None, bool]] = {
        name.strip(): (pupil_id, False) for name, pupil_id in upload_in.names.items()
    }
    if upload_in.school_name is not None:
        said[upload_in.school_name.strip()] = (None, True)
    pupils = {pid for pid, _ in said.values() if pid is not None}
    if pupils:
        found = set(
            session.exec(
                select(Pupil.id).where(col(Pupil.id).in_(pupils), Pupil.school_id == school.id)
            ).all()
        )
        if pupils - found:
            raise RuleBroken("names: every pupil named must be a pupil of your school.")
    dsl = actor.acts_as(Role.dsl, school_id=school.id, trust_id=school.trust_id)
    if not dsl:
        # The holder says who is who only among their own contacts' pupils, and never changes
        # what was said before: else naming a stranger as a pupil, or the pupil as the school,
        # would hide a breach. A DSL may correct a name.
        held = reconcile.contacts_on(
            session, school_id=school.id, platform=upload_in.platform, account=account
        )
        theirs = {p for h in held if h.contact.staff_id == actor.staff_id for p in h.pupils}
        if pupils - theirs:
            raise RuleBroken("names: name only pupils on your own contacts of this account.")
    for name, (pupil_id, is_school) in said.items():
        entry = known.get(name)
        if entry is not None and (entry.pupil_id, entry.is_school) == (pupil_id, is_school):
            continue
        if entry is not None and not dsl:
            raise RuleBroken(f"names: who {name!r} is was said before; only the DSL may change it.")
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


def uploads_of(*, session: Session, actor: Principal, limit: int = 50) -> list[CaptureUpload]:
    """The school's uploads for its DSL; a member of staff's own for them."""
    if actor.school_id is None:
        raise Forbidden("Uploads belong to a school.")
    school = visible_school(session, actor, actor.school_id)
    query = select(CaptureUpload).where(CaptureUpload.school_id == school.id)
    if not actor.acts_as(Role.dsl, school_id=school.id or 0, trust_id=school.trust_id):
        query = query.where(CaptureUpload.uploaded_by_id == actor.staff_id)
    return list(session.exec(query.order_by(col(CaptureUpload.id).desc()).limit(limit)).all())
