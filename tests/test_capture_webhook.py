"""The WhatsApp Business webhook against a running server, as Meta calls it: the verification
handshake; deliveries signed with the app's secret kept (a pupil's message and what the school
sent from the app), forged or unsigned ones refused with nothing stored, a retried delivery and
a message delivered twice stored once, statuses in any order changing nothing, edits and
deletions on the platform marked on the captured message."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import httpx
import pytest

from contacts.capture.models import CaptureName, WhatsAppNumber
from core import clock
from tests.support.builders import approved_contact
from tests.support.ground import count_rows

SECRET = b"the-meta-apps-secret"
NUMBER_ID, BUSINESS, PUPIL = "109876543210", "447700900001", "447700900123"
ACCOUNT = "Riverside U15 football (school phone)"


@pytest.fixture
def webhook(app, db, world, school, tmp_path):  # type: ignore[no-untyped-def]
    secret, token = tmp_path / "app-secret", tmp_path / "verify-token"
    secret.write_bytes(SECRET + b"\n")
    token.write_text("verify-me-please")
    before = app.state.settings
    app.state.settings = before.model_copy(
        update={"whatsapp_app_secret_file": secret, "whatsapp_verify_token_file": token}
    )
    with db.transaction() as session:
        session.add(
            WhatsAppNumber(
                phone_number_id=NUMBER_ID,
                school_id=world.school_a,
                school_account=ACCOUNT,
                added_at=clock.now(),
            )
        )
        session.add(
            CaptureName(
                school_id=world.school_a,
                platform="whatsapp",
                school_account=ACCOUNT,
                name=PUPIL,
                pupil_id=school["young"],
                named_by_id=world.ids["dsl"],
                named_at=clock.now(),
            )
        )
    yield
    app.state.settings = before  # the app is shared: the next test has no webhook


def _signed(body: bytes, secret: bytes = SECRET) -> dict[str, str]:
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def _delivery(*changes: dict) -> bytes:  # type: ignore[type-arg]
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA1", "changes": list(changes)}],
        }
    ).encode()


def _metadata() -> dict[str, str]:
    return {"display_phone_number": BUSINESS, "phone_number_id": NUMBER_ID}


def _inbound(message_id: str, at: int, text: str) -> dict:  # type: ignore[type-arg]
    return {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": _metadata(),
            "contacts": [{"profile": {"name": "Ellie"}, "wa_id": PUPIL}],
            "messages": [
                {
                    "from": PUPIL,
                    "id": message_id,
                    "timestamp": str(at),
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        },
    }


def _echo(message_id: str, at: int, text: str) -> dict:  # type: ignore[type-arg]
    return {
        "field": "smb_message_echoes",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": _metadata(),
            "message_echoes": [
                {
                    "from": BUSINESS,
                    "to": PUPIL,
                    "id": message_id,
                    "timestamp": str(at),
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        },
    }


def test_the_handshake_answers_only_our_verify_token(webhook, live_server):
    asked = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    ours = httpx.get(
        f"{live_server}/capture/whatsapp", params={**asked, "hub.verify_token": "verify-me-please"}
    )
    assert (ours.status_code, ours.text) == (200, "1158201444")
    theirs = httpx.get(
        f"{live_server}/capture/whatsapp", params={**asked, "hub.verify_token": "guess"}
    )
    assert theirs.status_code == 403


def test_signed_deliveries_are_kept_once_and_forged_ones_refused(
    webhook, live_server, client, world, school, db
):
    cid = approved_contact(client, world, school)
    later = (clock.now() + timedelta(hours=2)).replace(microsecond=0)
    clock.set_clock(lambda: later)
    at = int((later - timedelta(minutes=30)).timestamp())
    body = _delivery(
        _inbound("wamid.IN1", at, "Is training on?"), _echo("wamid.OUT1", at + 60, "Yes at 4")
    )
    url = f"{live_server}/capture/whatsapp"

    unsigned = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    forged = httpx.post(url, content=body, headers=_signed(body, b"not-the-secret"))
    tampered = httpx.post(url, content=body.replace(b"Yes at 4", b"No"), headers=_signed(body))
    assert [r.status_code for r in (unsigned, forged, tampered)] == [401, 401, 401]
    assert count_rows(db, "captured_message") == 0

    kept = httpx.post(url, content=body, headers=_signed(body))
    assert kept.status_code == 200, kept.text
    assert kept.json() == {"new_messages": 2}
    retried = httpx.post(url, content=body, headers=_signed(body))
    assert retried.json() == {"new_messages": 0}
    # The same message again in another delivery (Meta batches differently on a retry).
    again = _delivery(_inbound("wamid.IN1", at, "Is training on?"))
    assert httpx.post(url, content=again, headers=_signed(again)).json() == {"new_messages": 0}
    assert count_rows(db, "captured_message") == 2

    found = client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("dsl")).json()
    assert found["captured"] == 2
    assert sorted((m["direction"], m["content"]) for m in found["not_logged"]) == [
        ("received", "Is training on?"),
        ("sent", "Yes at 4"),
    ]
    assert {tuple(m["pupil_ids"]) for m in found["not_logged"]} == {(school["young"],)}


def test_statuses_edits_and_deletions(webhook, live_server, client, world, school, db):
    cid = approved_contact(client, world, school)
    later = (clock.now() + timedelta(hours=2)).replace(microsecond=0)
    clock.set_clock(lambda: later)
    at = int((later - timedelta(minutes=30)).timestamp())
    url = f"{live_server}/capture/whatsapp"
    first = _delivery(
        _echo("wamid.OUT9", at, "Meet at the gate"), _inbound("wamid.IN9", at + 5, "ok")
    )
    httpx.post(url, content=first, headers=_signed(first))
    statuses = _delivery(
        {
            "field": "messages",
            "value": {
                "messaging_product": "whatsapp",
                "metadata": _metadata(),
                "statuses": [
                    {
                        "id": "wamid.OUT9",
                        "status": "read",
                        "timestamp": str(at + 90),
                        "recipient_id": PUPIL,
                    },
                    {
                        "id": "wamid.OUT9",
                        "status": "delivered",
                        "timestamp": str(at + 30),
                        "recipient_id": PUPIL,
                    },
                ],
            },
        }
    )
    assert httpx.post(url, content=statuses, headers=_signed(statuses)).json() == {
        "new_messages": 0
    }
    edit = _delivery(
        {
            "field": "smb_message_echoes",
            "value": {
                "messaging_product": "whatsapp",
                "metadata": _metadata(),
                "message_echoes": [
                    {
                        "from": BUSINESS,
                        "to": PUPIL,
                        "id": "wamid.EDIT1",
                        "timestamp": str(at + 120),
                        "type": "edit",
                        "edit": {
                            "original_message_id": "wamid.OUT9",
                            "message": {"type": "text", "text": {"body": "Meet at reception"}},
                        },
                    },
                    {
                        "from": BUSINESS,
                        "to": PUPIL,
                        "id": "wamid.REV1",
                        "timestamp": str(at + 130),
                        "type": "revoke",
                        "revoke": {"original_message_id": "wamid.IN9"},
                    },
                ],
            },
        }
    )
    assert httpx.post(url, content=edit, headers=_signed(edit)).status_code == 200
    found = client.get(f"/contacts/{cid}/reconciliation", headers=world.auth("dsl")).json()
    by_text = {m["content"]: m for m in found["not_logged"]}
    assert by_text["Meet at reception"]["edited"] is True
    assert by_text["ok"]["deleted"] is True
    assert count_rows(db, "captured_message") == 2
    events = client.get("/audit/events?object_type=captured_message", headers=world.auth("dsl"))
    assert {e["action"] for e in events.json()["items"]} == {
        "capture.edited_on_platform",
        "capture.deleted_on_platform",
    }


def test_a_delivery_that_is_not_one_gets_a_clear_answer(webhook, live_server):
    url = f"{live_server}/capture/whatsapp"
    for body in (b"not json", json.dumps({"object": "page", "entry": []}).encode()):
        answer = httpx.post(url, content=body, headers=_signed(body))
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_without_a_secret_configured_the_webhook_is_not_there(client):
    assert client.get("/capture/whatsapp", params={"hub.mode": "subscribe"}).status_code == 404
    assert client.post("/capture/whatsapp", content=b"{}").status_code == 404
