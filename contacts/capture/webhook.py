"""The WhatsApp Business Platform's webhook for a school-owned number (coexistence: staff keep
using the app on the school phone, and Meta sends what passes through it): each delivery's
`X-Hub-Signature-256` checked over the raw body with the app's secret, in constant time; pupils'
messages (`messages`) and what the school sent from the app or a linked device
(`smb_message_echoes`), edits and deletions among them, kept as captured messages of the
number's school account; a delivery retried is recognised, a message delivered twice stored
once; statuses, in whatever order they come, change nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from contacts.capture import keeping, uploads
from contacts.capture.exports import Exported
from contacts.capture.models import CapturedMessage, Source, WhatsAppNumber
from contacts.models import Platform
from core.directory.models import School
from core.errors import InvalidInput, Unauthorized
from core.policy import Policy
from core.principal import Principal
from core.record import audit, seals

ATTACHED = ("image", "video", "audio", "document", "sticker", "location", "contacts")


def signed(body: bytes, header: str | None, *, secret: bytes) -> None:
    """Unauthorized unless `header` is `sha256=` and the HMAC-SHA256 of the raw body under the
    app secret, compared in constant time."""
    if not header or not header.startswith("sha256="):
        raise Unauthorized("X-Hub-Signature-256 is missing.")
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower()):
        raise Unauthorized("X-Hub-Signature-256 does not match this delivery.")


@dataclass
class Said:
    """A message of a delivery, for the number it came through."""

    number: str  # the school's phone_number_id
    business: str  # the number as people see it (display_phone_number)
    message: Exported


@dataclass
class Changed:
    number: str
    original_id: str
    deleted: bool
    text: str | None


def read_delivery(body: bytes) -> tuple[list[Said], list[Changed]]:
    """The messages and the edits or deletions a delivery carries; 422 if it is not one."""
    try:
        delivery = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("The delivery is not JSON.") from None
    if not isinstance(delivery, dict) or delivery.get("object") != "whatsapp_business_account":
        raise InvalidInput("Not a WhatsApp Business Account delivery.")
    said: list[Said] = []
    changed: list[Changed] = []
    for entry in _list(delivery.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            field, value = _dict(change).get("field"), _dict(_dict(change).get("value"))
            meta = _dict(value.get("metadata"))
            number = str(meta.get("phone_number_id") or "")
            business = str(meta.get("display_phone_number") or number)
            if not number:
                continue
            if field == "messages":
                for m in _list(value.get("messages")):
                    _one(m, number, business, sent=False, said=said, changed=changed)
            elif field == "smb_message_echoes":
                for m in _list(value.get("message_echoes")):
                    _one(m, number, business, sent=True, said=said, changed=changed)
    return said, changed


def _one(
    message: Any,
    number: str,
    business: str,
    *,
    sent: bool,
    said: list[Said],
    changed: list[Changed],
) -> None:
    m = _dict(message)
    kind = str(m.get("type") or "")
    if kind in ("edit", "revoke"):
        detail = _dict(m.get(kind))
        original = str(detail.get("original_message_id") or "")
        if original:
            text = _dict(_dict(detail.get("message")).get("text")).get("body")
            changed.append(Changed(number, original, kind == "revoke", text))
        return
    if kind in ("reaction", "unsupported", "system", "ephemeral"):
        return
    stamp, message_id = m.get("timestamp"), m.get("id")
    if not str(stamp or "").isdigit() or not message_id:
        raise InvalidInput("A message in the delivery has no id or timestamp.")
    other = str(m.get("to") if sent else m.get("from") or "")
    text = _dict(m.get("text")).get("body") or _dict(m.get(kind)).get("caption") or ""
    attachment = None
    if kind in ATTACHED:
        attachment = str(_dict(m.get(kind)).get("filename") or kind)
    said.append(
        Said(
            number,
            business,
            Exported(
                conversation=other,
                sender=business if sent else other,
                sent_at=datetime.fromtimestamp(int(str(stamp)), tz=UTC),
                text=str(text),
                file="webhook delivery",
                line=len(said) + 1,
                attachment=attachment,
                platform_id=str(message_id),
            ),
        )
    )


def take(
    session: Session,
    *,
    at: datetime,
    body: bytes,
    policy_of: Callable[[School], Policy],
) -> int:
    """A signed delivery kept, school by school: how many new messages it brought. A number no
    school has set up is passed over (Meta is told 200, so it does not retry for ever)."""
    said, changed = read_delivery(body)
    by_number: dict[str, list[Said]] = defaultdict(list)
    for s in said:
        by_number[s.number].append(s)
    numbers = {
        n.phone_number_id: n
        for n in session.exec(
            select(WhatsAppNumber).where(
                col(WhatsAppNumber.phone_number_id).in_({*by_number, *(c.number for c in changed)})
            )
        ).all()
    }
    new = 0
    for number, items in by_number.items():
        known = numbers.get(number)
        if known is None:
            continue
        school = session.get(School, known.school_id)
        assert school is not None
        assert school.id is not None
        if keeping.repeated(session, school_id=school.id, data=body) is not None:
            continue  # the very delivery again: Meta retries until it hears 200
        policy = policy_of(school)
        names = uploads.known_names(
            session, school_id=school.id, platform=Platform.whatsapp, account=known.school_account
        )
        kept = keeping.keep(
            session,
            actor=Principal.platform(school.id, school.trust_id),
            policy=policy,
            at=at,
            school=school,
            source=Source.whatsapp_webhook,
            platform=Platform.whatsapp,
            account=known.school_account,
            file_name="WhatsApp Business webhook delivery",
            data=body,
            device="WhatsApp Business Platform (signed delivery)",
            zone=ZoneInfo("UTC"),
            exported=[s.message for s in items],
            school_names={items[0].business},
            pupil_of={n: e.pupil_id for n, e in names.items() if e.pupil_id is not None},
        )
        new += kept.new_messages
    for change in changed:
        known = numbers.get(change.number)
        if known is not None:
            _change(session, known, change, at=at)
    return new


def _change(session: Session, number: WhatsAppNumber, change: Changed, *, at: datetime) -> None:
    """An edit or a deletion of a message kept before: the captured message says so (the words
    it first had stay in the delivery that brought it, kept as that upload's file)."""
    fingerprint = keeping.fingerprint_of_id(Platform.whatsapp, change.original_id)
    captured = session.exec(
        select(CapturedMessage).where(
            CapturedMessage.school_id == number.school_id,
            CapturedMessage.fingerprint == fingerprint,
        )
    ).first()
    if captured is None or captured.id is None:
        return  # the original came before the number was set up: nothing to change
    if change.deleted:
        captured.deleted = True
    else:
        captured.edited = True
        if change.text is not None:
            captured.content = change.text
    session.add(captured)
    session.flush()
    school = session.get(School, number.school_id)
    assert school is not None
    assert school.id is not None
    audit.record(
        session,
        actor=Principal.platform(school.id, school.trust_id),
        at=at,
        action="capture.deleted_on_platform" if change.deleted else "capture.edited_on_platform",
        object_type="captured_message",
        object_id=captured.id,
        school_id=school.id,
        sealed=seals.seal(session, ("captured_message", captured.id)),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
