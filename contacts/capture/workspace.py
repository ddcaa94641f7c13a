"""Chat on the school's own tenant: Google Workspace for Education Chat as Takeout exports it
(`Google Chat/Groups/<conversation>/messages.json`, each message's `creator`, `created_date`
written out in words, `text`), and Microsoft Teams chat messages as Microsoft Graph gives them
(`chatMessage` JSON: `from.user`, `createdDateTime`, `body` as HTML or text, system events
apart, deletions and edits stamped). A person is named by their account's address or id, which
is stable, before their display name."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
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

# Takeout writes each message's time in words, in the account's language (English here).
TAKEOUT_DATES = (
    "%A, %B %d, %Y at %I:%M:%S %p %Z",
    "%A, %d %B %Y at %H:%M:%S %Z",
    "%A, %B %d, %Y at %H:%M:%S %Z",
)
CHAT_FILE = re.compile(r"(^|/)Google Chat/Groups/[^/]+/messages\.json$")


def _json(text: str, *, file: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportRefused(f"not JSON ({exc.msg})", file=file, line=exc.lineno) from None


# ---------------------------------------------------------------- Google Chat (Takeout)


def parse_takeout(data: bytes, *, name: str) -> list[Exported]:
    """Takeout's zip (every conversation in it) or one conversation's messages.json."""
    if data[:4] == b"PK\x03\x04":
        archive = opened_zip(data, name=name)
        chats = [m for m in archive.infolist() if CHAT_FILE.search(m.filename)]
        if not chats:
            raise ExportRefused(
                "no Google Chat conversations in the Takeout (Google Chat/Groups/…/messages.json)",
                file=name,
            )
        found: list[Exported] = []
        for member in sorted(chats, key=lambda m: m.filename):
            inner = f"{name}/{member.filename}"
            conversation = PurePosixPath(member.filename).parent.name
            body = text_of(read_member(archive, member, name=name), file=inner)
            found += google_chat(body, file=inner, conversation=conversation)
            counted(found, file=name)
        return found
    return counted(google_chat(text_of(data, file=name), file=name, conversation=name), file=name)


def google_chat(text: str, *, file: str, conversation: str) -> list[Exported]:
    body = _json(text, file=file)
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise ExportRefused("not a Google Chat conversation: it has no list of messages", file=file)
    found = []
    for n, message in enumerate(body["messages"], start=1):
        if not isinstance(message, dict):
            raise ExportRefused("a message is not an object", file=file, line=n)
        creator = message.get("creator") or {}
        sender = creator.get("email") or creator.get("name") if isinstance(creator, dict) else None
        if not isinstance(sender, str) or not sender:
            raise ExportRefused("a message has no creator", file=file, line=n)
        files = message.get("attached_files") or []
        attachment = (
            str(files[0].get("original_name") or files[0].get("export_name") or "file")
            if isinstance(files, list) and files and isinstance(files[0], dict)
            else None
        )
        found.append(
            Exported(
                conversation=conversation,
                sender=sender,
                sent_at=_takeout_time(message.get("created_date"), file=file, line=n),
                text=str(message.get("text") or ""),
                file=file,
                line=n,
                attachment=attachment,
                deleted=bool(message.get("deleted_date")),
                platform_id=str(message["message_id"]) if message.get("message_id") else None,
            )
        )
    return found


def _takeout_time(value: Any, *, file: str, line: int) -> datetime:
    if isinstance(value, str):
        cleaned = value.replace("\u202f", " ").strip()
        for layout in TAKEOUT_DATES:
            try:
                return datetime.strptime(cleaned, layout).replace(tzinfo=UTC)
            except ValueError:
                continue
    raise ExportRefused(
        f"created_date {value!r} is not a time Takeout writes", file=file, line=line
    )


# ---------------------------------------------------------------- Microsoft Teams (Graph)


class _Text(HTMLParser):
    """The words of a message's HTML body, never its markup (nothing of it is rendered)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # inside a script or style: code, not words

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in ("br", "p", "div") and self.parts:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1


def words_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n{2,}", "\n", "".join(parser.parts)).strip()


def parse_graph(data: bytes, *, name: str) -> list[Exported]:
    """A Graph response of chat messages (`{"value": [...]}`, as GET /chats/{id}/messages
    answers), or a list of them."""
    body = _json(text_of(data, file=name), file=name)
    items = body.get("value") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise ExportRefused("not Microsoft Graph chat messages: no value list", file=name)
    found = []
    for n, message in enumerate(items, start=1):
        if not isinstance(message, dict):
            raise ExportRefused("a message is not an object", file=name, line=n)
        if message.get("messageType", "message") != "message":
            continue  # members added, the chat renamed, a call's record: not said by anyone
        who = (message.get("from") or {}).get("user") or {}
        sender = who.get("id") or who.get("displayName") if isinstance(who, dict) else None
        if not isinstance(sender, str) or not sender:
            raise ExportRefused("a message has no from.user", file=name, line=n)
        content = (message.get("body") or {}).get("content") or ""
        kind = (message.get("body") or {}).get("contentType", "text")
        attachments = message.get("attachments") or []
        found.append(
            Exported(
                conversation=str(message.get("chatId") or name),
                sender=sender,
                sent_at=_graph_time(message.get("createdDateTime"), file=name, line=n),
                text=words_of(str(content)) if kind == "html" else str(content),
                file=name,
                line=n,
                attachment=str(attachments[0].get("name") or "attachment")
                if isinstance(attachments, list)
                and attachments
                and isinstance(attachments[0], dict)
                else None,
                deleted=bool(message.get("deletedDateTime")),
                edited=bool(message.get("lastEditedDateTime")),
                platform_id=str(message["id"]) if message.get("id") else None,
            )
        )
    found.sort(key=lambda m: (m.sent_at, m.line))
    return counted(found, file=name)


def _graph_time(value: Any, *, file: str, line: int) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    raise ExportRefused(f"createdDateTime {value!r} is not a time", file=file, line=line)
