"""WhatsApp's own chat export from the school phone ("Export chat"): the iPhone's zip holding
`_chat.txt` (`[DD/MM/YYYY, HH:MM:SS] Name: text`, attachments as `<attached: …>`, U+200E marks
before what the app wrote itself) and Android's text file (`DD/MM/YYYY, HH:MM - Name: text`,
`<Media omitted>`), in the phone's locale: its date order and 12- or 24-hour clock, and no
time zone (the uploader says which; the school's by default). A message runs on over the lines
that follow it; the app's own notices (encryption, joins, subject changes) are not messages.
The texts of the notices are the English app's."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from contacts.capture.exports import (
    Exported,
    ExportRefused,
    counted,
    opened_zip,
    read_member,
    text_of,
)


class DateOrder(StrEnum):
    """How the phone writes a date: the UK's day first, the US's month first, or year first."""

    dmy = "dmy"
    mdy = "mdy"
    ymd = "ymd"


MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SPACE = "[ \u00a0\u202f]"
_DATE = r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
_HALF = rf"(?:{_SPACE}?(?P<half>[AaPp])\.?{_SPACE}?[Mm]\.?)"
_TIME = rf"(?P<time>\d{{1,2}}[:.]\d{{2}}(?:[:.]\d{{2}})?{_HALF}?)"
IPHONE = re.compile(rf"^[{MARKS}]*\[{_DATE},{_SPACE}{_TIME}\]{_SPACE}(?P<rest>.*)$")
ANDROID = re.compile(rf"^[{MARKS}]*{_DATE},?{_SPACE}{_TIME}{_SPACE}[-–]{_SPACE}(?P<rest>.*)$")
# The start of a line that means to be a message's: a date, bracketed or not.
LOOKS_DATED = re.compile(rf"^[{MARKS}]*\[?\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}},")

# What the app writes itself, which no one sent: checked before a line is taken as a message.
NOTICES = re.compile(
    "|".join(
        (
            r"Messages (and calls )?(to this (group|chat) )?are (now )?end-to-end encrypted",
            r"Messages and calls are end-to-end encrypted",
            r".* created (the )?group ",
            r".* created this group",
            r".* added .+",
            r".* removed .+",
            r".* left$",
            r".* joined using this group's invite link",
            r".* joined from the community",
            r".* changed (the subject|this group's|the group|their phone number|to)",
            r".* changed the group description",
            r".*'s security code changed",
            r"Your security code with .* changed",
            r".* (is|are) now an admin",
            r"You're now an admin",
            r".* turned (on|off) disappearing messages",
            r"Disappearing messages (were|are) turned",
            r".* deleted the group description",
            r".* pinned a message",
            r"This chat is with a business account",
            r".* is a contact\.",
            r"Tap to learn more",
            r"You blocked this contact",
            r"You unblocked this contact",
            r"Waiting for this message",
        )
    )
)
SUBJECT = re.compile(r".* changed (the subject|the group description) ")
DELETED = re.compile(r"^(This message was deleted|You deleted this message)\.?$")
EDITED = re.compile(rf"{_SPACE}*<This message was edited>$")
ATTACHED = re.compile(r"^<attached: (?P<name>[^>]+)>$")
OMITTED = re.compile(
    r"^(?P<what>image|video|audio|sticker|GIF|document|Contact card|voice message) omitted$"
    r"|^<Media omitted>$"
    r"|^(?P<file>.+) \(file attached\)$"
)


def conversation_of(file_name: str) -> str:
    """The chat's name, as WhatsApp names the file it exports: "WhatsApp Chat - Name.zip" on an
    iPhone, "WhatsApp Chat with Name.txt" on Android."""
    stem = PurePosixPath(file_name.replace("\\", "/")).stem
    for prefix in ("WhatsApp Chat - ", "WhatsApp Chat with "):
        if stem.startswith(prefix):
            return stem[len(prefix) :]
    return stem


def _is_chat(path: str) -> bool:
    """The chat's text in an export's zip: an iPhone's _chat.txt, or Android's own file."""
    name = PurePosixPath(path).name
    return name == "_chat.txt" or (name.startswith("WhatsApp Chat") and name.endswith(".txt"))


def parse_upload(
    data: bytes, *, name: str, zone: ZoneInfo, order: DateOrder, conversation: str | None = None
) -> list[Exported]:
    """An uploaded export, zip (an iPhone's, or Android's with media) or text: its messages.
    The chat is named as the uploader says, else as the iPhone's own notice names it, else as
    WhatsApp named the file."""
    chat = conversation or conversation_of(name)
    if data[:4] == b"PK\x03\x04":
        archive = opened_zip(data, name=name)
        chats = [m for m in archive.infolist() if not m.is_dir() and _is_chat(m.filename)]
        if len(chats) != 1:
            raise ExportRefused(
                f"a WhatsApp export's zip holds one chat (_chat.txt); this one holds {len(chats)}",
                file=name,
            )
        [member] = chats
        inner = f"{name}/{member.filename}"
        text = text_of(read_member(archive, member, name=name), file=inner)
        return parse_chat(
            text,
            file=inner,
            conversation=chat,
            zone=zone,
            order=order,
            named=conversation is not None,
        )
    return parse_chat(
        text_of(data, file=name),
        file=name,
        conversation=chat,
        zone=zone,
        order=order,
        named=conversation is not None,
    )


def parse_chat(
    text: str,
    *,
    file: str,
    conversation: str,
    zone: ZoneInfo,
    order: DateOrder,
    named: bool = False,
) -> list[Exported]:
    """The messages of one chat's text, oldest first as the app writes them. On an iPhone the
    encryption notice is written in the chat's name: that names the chat, unless `named`."""
    messages: list[Exported] = []
    layout: re.Pattern[str] | None = None
    current: Exported | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if layout is None:
            if not line.strip():
                continue
            layout = IPHONE if IPHONE.match(line) else ANDROID if ANDROID.match(line) else None
            if layout is None:
                raise ExportRefused(
                    "no WhatsApp date and time at the start: this is not a WhatsApp chat export",
                    file=file,
                    line=number,
                )
        found = layout.match(line)
        if found is None:
            if LOOKS_DATED.match(line):
                raise ExportRefused(
                    "this line starts like a message but its date or time cannot be read",
                    file=file,
                    line=number,
                )
            if current is not None:  # a message running on over several lines
                current = replace(current, text=f"{current.text}\n{line}")
            continue
        if current is not None:
            messages.append(_finished(current))
        sent_at = _instant(found, zone=zone, order=order, file=file, line=number)
        if layout is IPHONE and not named and not messages and current is None:
            chat_name = _chat_named(found["rest"])
            if chat_name is not None:
                conversation = chat_name
        current = _message(
            found["rest"],
            sent_at,
            conversation=conversation,
            file=file,
            line=number,
            iphone=layout is IPHONE,
        )
    if current is not None:
        messages.append(_finished(current))
    if layout is None:
        raise ExportRefused("the chat is empty", file=file)
    return counted(messages, file=file)


def _chat_named(rest: str) -> str | None:
    """The chat's name, from an iPhone's encryption notice (`Name: ‎Messages and calls…`)."""
    sender, _, said = rest.partition(": ")
    if said[:1] in MARKS and said.strip(MARKS + " ").startswith("Messages and calls"):
        return sender.strip(MARKS + " ") or None
    return None


def _message(
    rest: str, sent_at: datetime, *, conversation: str, file: str, line: int, iphone: bool
) -> Exported | None:
    """The message a dated line starts, or None for the app's own notice. An iPhone names
    someone on every line (the chat, for a notice) and marks what the app wrote itself with
    U+200E; Android writes its notices with no one's name before a colon."""
    sender, colon, said = rest.partition(": ")
    if not colon or not sender.strip(MARKS + " ") or len(sender) > 100:
        return None
    plain = said.strip(MARKS + " ")
    if iphone and said[:1] in MARKS and NOTICES.match(plain):
        return None
    if not iphone and SUBJECT.match(rest):
        return None  # a subject with a colon in it
    return Exported(
        conversation=conversation,
        sender=sender.strip(MARKS + " "),
        sent_at=sent_at,
        text=said.lstrip(MARKS),
        file=file,
        line=line,
    )


def _finished(message: Exported | None) -> Exported:
    assert message is not None
    text = message.text
    edited = bool(EDITED.search(text))
    text = EDITED.sub("", text)
    plain = text.strip(MARKS + " ")
    deleted = bool(DELETED.match(plain))
    attachment = None
    attached = ATTACHED.match(plain) or OMITTED.match(plain)
    if attached is not None:
        attachment = next((g for g in attached.groups() if g), None) or "media"
        text = ""
    elif deleted:
        text = ""
    return replace(message, text=text, attachment=attachment, deleted=deleted, edited=edited)


def _instant(
    found: re.Match[str], *, zone: ZoneInfo, order: DateOrder, file: str, line: int
) -> datetime:
    """The line's date and time on the phone's clock, in `zone`, as UTC."""
    parts = [int(p) for p in re.split(r"[./-]", found["date"])]
    if order == DateOrder.dmy:
        day, month, year = parts
    elif order == DateOrder.mdy:
        month, day, year = parts
    else:
        year, month, day = parts
    if year < 100:
        year += 2000
    clock = [int(p) for p in re.findall(r"\d{1,2}", found["time"])]
    hour, minute, second = [*clock, 0][:3]
    half = (found["half"] or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise ExportRefused(f"{found['time']} is not a time", file=file, line=line)
        hour = hour % 12 + (12 if half == "p" else 0)
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        hint = " (is the phone's date order another?)" if order != DateOrder.ymd else ""
        raise ExportRefused(
            f"{found['date']}, {found['time']} is not a date and time read as {order.value}{hint}",
            file=file,
            line=line,
        ) from None
    return local.astimezone(UTC)
