"""Meta's "Download your information" for a school-owned Instagram or Facebook account: the JSON
of each conversation (`messages/inbox/<thread>/message_N.json`, newest first, `timestamp_ms`,
`sender_name`, `content`), as a zip of the whole download or one file. Meta writes every string
as UTF-8 bytes escaped one by one (`\\u00c3\\u00a9` for é): repaired here. Joins and leaves of a
group are not messages; a call is (it is contact); an unsent message was sent."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from contacts.capture.exports import (
    Exported,
    ExportRefused,
    counted,
    opened_zip,
    read_member,
    text_of,
)

# Where a conversation's messages lie in a download, however deep the download nests them.
THREAD_FILE = re.compile(
    r"(^|/)messages/(inbox|archived_threads|message_requests)/[^/]+/message_\d+\.json$"
)
# What Meta records that no one said.
NOT_SAID = {"Subscribe", "Unsubscribe"}


def repaired(text: str) -> str:
    """Meta's mojibake undone: a string whose every character is a byte is read again as the
    UTF-8 it was; anything else (already right, or not UTF-8) is left as it is."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def parse_upload(data: bytes, *, name: str) -> list[Exported]:
    """A download's zip (every conversation in it) or one conversation's JSON."""
    if data[:4] == b"PK\x03\x04":
        archive = opened_zip(data, name=name)
        threads = [m for m in archive.infolist() if THREAD_FILE.search(m.filename)]
        if not threads:
            raise ExportRefused(
                "no conversations in the download (messages/inbox/<thread>/message_1.json): was "
                "it made as JSON, with messages chosen?",
                file=name,
            )
        messages: list[Exported] = []
        for member in sorted(threads, key=lambda m: m.filename):
            inner = f"{name}/{member.filename}"
            body = text_of(read_member(archive, member, name=name), file=inner)
            messages += parse_thread(body, file=inner)
            counted(messages, file=name)
        return messages
    return counted(parse_thread(text_of(data, file=name), file=name), file=name)


def parse_thread(text: str, *, file: str) -> list[Exported]:
    """One conversation's file: its messages, oldest first."""
    try:
        thread = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportRefused(f"not JSON ({exc.msg})", file=file, line=exc.lineno) from None
    if not isinstance(thread, dict) or not isinstance(thread.get("messages"), list):
        raise ExportRefused(
            "not a conversation of Meta's download: it has no list of messages", file=file
        )
    title = repaired(str(thread.get("title") or PurePosixPath(file).parent.name))
    found = []
    for n, message in enumerate(thread["messages"]):
        taken = _message(message, conversation=title, file=file, index=n)
        if taken is not None:
            found.append(taken)
    found.sort(key=lambda m: (m.sent_at, m.line))
    return found


def _message(message: Any, *, conversation: str, file: str, index: int) -> Exported | None:
    where = index + 1  # the message's place in the file's list, in place of a line
    if not isinstance(message, dict):
        raise ExportRefused("a message is not an object", file=file, line=where)
    kind = message.get("type", "Generic")
    if kind in NOT_SAID:
        return None
    sender, stamp = message.get("sender_name"), message.get("timestamp_ms")
    if not isinstance(sender, str) or not sender:
        raise ExportRefused("a message has no sender_name", file=file, line=where)
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not 0 < stamp < 2**45:
        raise ExportRefused("a message's timestamp_ms is not a time", file=file, line=where)
    content = message.get("content")
    text = repaired(content) if isinstance(content, str) else ""
    attachment = _attachment(message)
    if kind == "Call":
        seconds = message.get("call_duration")
        attachment = f"call ({seconds} s)" if isinstance(seconds, int) else "call"
    return Exported(
        conversation=conversation,
        sender=repaired(sender),
        sent_at=datetime.fromtimestamp(stamp / 1000, tz=UTC),
        text=text,
        file=file,
        line=where,
        attachment=attachment,
        deleted=bool(message.get("is_unsent")),
    )


def _attachment(message: dict[str, Any]) -> str | None:
    """What was attached, named as the download names it (the file's own path, never opened)."""
    for key in ("photos", "videos", "audio_files", "files", "gifs"):
        items = message.get(key)
        if isinstance(items, list) and items:
            first = items[0]
            uri = first.get("uri") if isinstance(first, dict) else None
            return f"{key[:-1]}: {PurePosixPath(str(uri)).name}" if uri else key[:-1]
    if isinstance(message.get("sticker"), dict):
        return "sticker"
    share = message.get("share")
    if isinstance(share, dict):
        return f"share: {share.get('link', '')}".strip()
    return None
