"""Attachments to a case file (screenshots of posts, letters, exported chats): only listed
types, each checked to be what its name says, within a size; stored with its SHA-256 sealed,
never under its own name as a path, and given back only to the case's readers, to save."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath

import filetype  # type: ignore[import-untyped]
from sqlmodel import Session, col, select

from contacts.concerns import readers
from contacts.concerns.models import Concern, ConcernAttachment, ConcernFile
from core.errors import Conflict, InvalidInput, NotFound, TooLarge
from core.principal import Principal
from core.record import audit
from core.text import check_line

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# What a case file takes: the extension a name may end in → the type its bytes must be.
TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".txt": "text/plain",
    ".zip": "application/zip",
}


@dataclass(frozen=True)
class Checked:
    file_name: str
    media_type: str


def _plain_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def check(file_name: str, data: bytes) -> Checked:
    """The name shown (its last part only, one line) and the type its bytes really are; a file
    of an unlisted type, or not what its extension claims, is refused."""
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise TooLarge(f"file: larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.")
    if not data:
        raise InvalidInput("file: empty.")
    shown = PureWindowsPath(PurePosixPath(file_name).name).name.strip() or "attachment"
    try:
        shown = check_line(shown)[:255]
    except ValueError as exc:
        raise InvalidInput(f"file: its name {exc}.") from None
    extension = PurePosixPath(shown.lower()).suffix
    wanted = TYPES.get(extension)
    if wanted is None:
        listed = ", ".join(sorted(TYPES))
        raise InvalidInput(f"file: {extension or 'no extension'} is not taken here ({listed}).")
    guessed = filetype.guess(data)
    found = guessed.mime if guessed is not None else ("text/plain" if _plain_text(data) else None)
    if found != wanted:
        raise InvalidInput(
            f"file: it is named {extension} but is {found or 'of no type we recognise'}."
        )
    return Checked(shown, wanted)


def attach(
    *,
    session: Session,
    actor: Principal,
    at: datetime,
    concern_id: int,
    file_name: str,
    data: bytes,
    description: str | None,
) -> ConcernAttachment:
    concern = readers.get_readable(session, actor, concern_id)
    assert actor.staff_id is not None
    checked = check(file_name, data)
    digest = hashlib.sha256(data).hexdigest()
    if session.exec(
        select(col(ConcernAttachment.id)).where(
            ConcernAttachment.concern_id == concern_id, ConcernAttachment.sha256 == digest
        )
    ).first():
        raise Conflict("This very file is already in the case file.")
    attachment = ConcernAttachment(
        concern_id=concern_id,
        file_name=checked.file_name,
        media_type=checked.media_type,
        size=len(data),
        sha256=digest,
        description=description,
        added_by_id=actor.staff_id,
        added_at=at,
    )
    session.add(attachment)
    session.flush()
    assert attachment.id is not None
    session.add(ConcernFile(attachment_id=attachment.id, data=data))
    audit.record_change(session, actor=actor, at=at, of=concern, action="concern.attached")
    return attachment


def fetch(
    *, session: Session, actor: Principal, at: datetime, concern_id: int, attachment_id: int
) -> tuple[ConcernAttachment, bytes]:
    """The file, for one of the case's readers, its read on the record. A file whose bytes no
    longer match the sealed hash is not handed out as if it were the evidence."""
    concern: Concern = readers.get_readable(session, actor, concern_id)
    attachment = session.get(ConcernAttachment, attachment_id)
    if attachment is None or attachment.concern_id != concern_id:
        raise NotFound("No such attachment on this concern.")
    stored = session.get(ConcernFile, attachment_id)
    if stored is None or stored.data is None:
        raise NotFound("This attachment's file has been removed under the retention schedule.")
    if hashlib.sha256(stored.data).hexdigest() != attachment.sha256:
        raise Conflict("This file no longer matches the hash sealed when it was attached.")
    audit.record(
        session,
        actor=actor,
        at=at,
        action="access.concern_attachment",
        object_type="concern",
        object_id=concern.id,
        school_id=concern.school_id,
        details={"attachment": attachment_id},
    )
    return attachment, stored.data
