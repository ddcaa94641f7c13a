"""What every platform export becomes: the messages it holds, each with where in the file it
came from; the one answer for an export that cannot be read (the file and line, and why); and
the caps that keep an upload from costing more than it should (size, messages, zip entries and
what they unpack to), applied before anything is unpacked."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime

# An upload is refused above these: WhatsApp's own export stops at 40 000 messages; a Meta
# download of one account's messages is a few megabytes of JSON.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
MAX_MESSAGES = 100_000
MAX_ZIP_ENTRIES = 20_000
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024


class ExportRefused(ValueError):
    """The export cannot be taken as it is: nothing of it is stored."""

    def __init__(self, why: str, *, file: str | None = None, line: int | None = None) -> None:
        self.why, self.file, self.line = why, file, line
        where = file or "the upload"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {why}")


@dataclass(frozen=True)
class Exported:
    """One message as the platform recorded it."""

    conversation: str  # the chat's or thread's name, as the export gives it
    sender: str  # as the export names them
    sent_at: datetime  # aware, UTC
    text: str
    file: str  # where in the upload, for the evidence and for errors
    line: int
    attachment: str | None = None  # what was attached, as the export names it
    deleted: bool = False  # "This message was deleted": it was sent, and is gone
    edited: bool = False
    platform_id: str | None = None  # the platform's own id of the message, where it gives one


def counted(messages: list[Exported], *, file: str) -> list[Exported]:
    if len(messages) > MAX_MESSAGES:
        raise ExportRefused(f"more than {MAX_MESSAGES} messages in one upload", file=file)
    return messages


def opened_zip(data: bytes, *, name: str) -> zipfile.ZipFile:
    """The zip, refused before anything is unpacked if it holds too many entries or would
    unpack to too much (a zip bomb), or is not a zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ExportRefused(f"not a readable zip ({exc})", file=name) from None
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ExportRefused(f"more than {MAX_ZIP_ENTRIES} files in the zip", file=name)
    if sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
        raise ExportRefused("the zip would unpack to more than contactlog takes", file=name)
    return archive


def read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, *, name: str) -> bytes:
    """One file of the zip, into memory only (no path in a zip is ever written to disk), read no
    further than its stated size allows: a member that lies about its size is refused."""
    limit = min(member.file_size, MAX_UNZIPPED_BYTES)
    try:
        with archive.open(member) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
        raise ExportRefused(f"{member.filename} cannot be unpacked ({exc})", file=name) from None
    if len(data) > limit:
        raise ExportRefused(f"{member.filename} is larger than the zip says", file=name)
    return data


def text_of(data: bytes, *, file: str) -> str:
    """UTF-8 text (a byte-order mark dropped), or a clear refusal."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExportRefused("not UTF-8 text", file=file, line=line) from None
