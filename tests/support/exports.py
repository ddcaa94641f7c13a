"""Platform exports made to the platforms' documented layouts, for the tests of capture: a
WhatsApp chat as an iPhone exports it (a zip holding _chat.txt and its attachments) and as
Android does (one text file), in a phone's locale; Meta's download of an account's messages,
with the mojibake Meta writes."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LRM = "\u200e"
NNBSP = "\u202f"
ENCRYPTED = (
    "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
    "WhatsApp, can read or listen to them."
)


@dataclass(frozen=True)
class Said:
    """One line of a chat: who, when (on the phone's clock), what."""

    sender: str
    at: datetime  # naive: the phone's wall clock
    text: str


def _date(at: datetime, order: str, year_digits: int, separator: str) -> str:
    year = f"{at.year:04d}" if year_digits == 4 else f"{at.year % 100:02d}"
    day, month = f"{at.day:02d}", f"{at.month:02d}"
    parts = {
        "dmy": (day, month, year),
        "mdy": (str(at.month), str(at.day), year),
        "ymd": (year, month, day),
    }[order]
    return separator.join(parts)


def _time(at: datetime, twelve: bool, seconds: bool, space: str = " ") -> str:
    if twelve:
        hour = at.hour % 12 or 12
        half = "AM" if at.hour < 12 else "PM"
        clock = f"{hour}:{at.minute:02d}" + (f":{at.second:02d}" if seconds else "")
        return f"{clock}{space}{half}"
    return f"{at.hour:02d}:{at.minute:02d}" + (f":{at.second:02d}" if seconds else "")


def iphone_chat(
    lines: Iterable[Said],
    *,
    chat: str,
    order: str = "dmy",
    twelve: bool = False,
    year_digits: int = 4,
    notice_at: datetime | None = None,
) -> str:
    """_chat.txt as an iPhone writes it: `[date, time] Name: text`, the encryption notice first
    (in the chat's name, marked U+200E), attachments and deletions marked too."""
    out = []
    if notice_at is not None:
        stamp = (
            f"{_date(notice_at, order, year_digits, '/')}, {_time(notice_at, twelve, True, NNBSP)}"
        )
        out.append(f"{LRM}[{stamp}] {chat}: {LRM}{ENCRYPTED}")
    for said in lines:
        stamp = f"{_date(said.at, order, year_digits, '/')}, {_time(said.at, twelve, True, NNBSP)}"
        marked = said.text.startswith("<attached:") or said.text == "This message was deleted."
        text = f"{LRM}{said.text}" if marked else said.text
        out.append(f"{LRM if marked else ''}[{stamp}] {said.sender}: {text}")
    return "\n".join(out) + "\n"


def iphone_zip(chat_text: str, *, attachments: Iterable[str] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_chat.txt", chat_text)
        for name in attachments:
            archive.writestr(name, b"\xff\xd8\xff\xe0 not really a photo")
    return buffer.getvalue()


def android_chat(
    lines: Iterable[Said],
    *,
    order: str = "dmy",
    twelve: bool = False,
    year_digits: int = 4,
    separator: str = "/",
    notice_at: datetime | None = None,
) -> str:
    """The text file Android writes: `date, time - Name: text`; its notices name no one."""
    out = []
    if notice_at is not None:
        stamp = (
            f"{_date(notice_at, order, year_digits, separator)}, {_time(notice_at, twelve, False)}"
        )
        out.append(f"{stamp} - {ENCRYPTED} Tap to learn more.")
    for said in lines:
        stamp = f"{_date(said.at, order, year_digits, separator)}, {_time(said.at, twelve, False)}"
        out.append(f"{stamp} - {said.sender}: {said.text}")
    return "\n".join(out) + "\n"


def mojibake(text: str) -> str:
    """What Meta writes for a string: its UTF-8 bytes, each as a character of its own."""
    return text.encode("utf-8").decode("latin-1")


def meta_thread(
    messages: Iterable[dict[str, Any]], *, title: str, participants: Iterable[str]
) -> str:
    """message_1.json as Meta's download writes it: newest first, every string mojibaked,
    written with \\u escapes."""

    def fixed(value: Any) -> Any:
        if isinstance(value, str):
            return mojibake(value)
        if isinstance(value, dict):
            return {k: fixed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fixed(v) for v in value]
        return value

    body = {
        "participants": [{"name": mojibake(p)} for p in participants],
        "messages": [fixed(m) for m in sorted(messages, key=lambda m: -m["timestamp_ms"])],
        "title": mojibake(title),
        "is_still_participant": True,
        "thread_path": f"inbox/{title.lower().replace(' ', '')}_1234567890",
        "magic_words": [],
    }
    return json.dumps(body, indent=2, ensure_ascii=True)


def meta_download(threads: dict[str, str], *, root: str = "your_instagram_activity/") -> bytes:
    """The download's zip, each thread at <root>messages/inbox/<thread>/message_1.json."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{root}personal_information/personal_information.json", "{}")
        for folder, text in threads.items():
            archive.writestr(f"{root}messages/inbox/{folder}/message_1.json", text)
    return buffer.getvalue()


def stamp_ms(at: datetime, zone: str = "Europe/London") -> int:
    return int(at.replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)
