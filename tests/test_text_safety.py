"""Text that could break a record or an email: line and paragraph separators, controls and
bidirectional overrides are refused in one-line fields, and no stored text can stop an email
from being built and delivered (a monitored person cannot silence the DSL's alerts)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text as sql

from tests.support.builders import message, request_body, today
from tests.support.ground import assert_problem
from tests.support.mail import DSL, MANAGER, OWNER, noon, run_all

# U+2028/U+2029 and NEL break lines for Python's email package; ESC and CSI (C1) are controls;
# RLO and RLI reorder how text is shown.
NASTY = {
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "next line": "\u0085",
    "escape": "\x1b",
    "C1 control": "\x9b",
    "right-to-left override": "\u202e",
    "right-to-left isolate": "\u2067",
}


def _contact_fields(school):  # type: ignore[no-untyped-def]
    return [
        ("/contacts", "owner", "school_account", lambda v: request_body(school, school_account=v)),
        (
            "/contacts",
            "owner",
            "platform_name",
            lambda v: request_body(school, platform="other", platform_name=v),
        ),
        (
            "/contacts",
            "owner",
            "pupil_references",
            lambda v: request_body(school, pupil_ids=[], pupil_references=[v]),
        ),
        (
            "/pupils",
            "admin",
            "given_name",
            lambda v: {
                "given_name": v,
                "family_name": "F",
                "date_of_birth": "2012-01-01",
                "school_reference": "R9",
            },
        ),
        (
            "/staff",
            "admin",
            "name",
            lambda v: {"name": v, "email": "n@a.example.org", "school_id": 1},
        ),
        ("/devices", "admin", "asset_tag", lambda v: {"asset_tag": v, "description": "d"}),
        (
            f"/pupils/{school['young']}/guardians",
            "admin",
            "name",
            lambda v: {"name": v, "relationship": "aunt", "has_parental_responsibility": False},
        ),
        (
            "/incidents",
            "owner",
            "platform_name",
            lambda v: {
                "kind": "other",
                "platform": "other",
                "platform_name": v,
                "occurred_at": "2026-01-01T10:00:00Z",
                "what_happened": "Seen",
                "personal_information_shared": False,
            },
        ),
    ]


@pytest.mark.parametrize("name", list(NASTY))
def test_one_line_fields_refuse_breaks_controls_and_overrides(client, world, school, name):
    for path, who, field, body in _contact_fields(school):
        value = f"Team{NASTY[name]}chat"
        refused = assert_problem(client.post(path, json=body(value), headers=world.auth(who)), 422)
        named = {e["field"].split("[")[0] for e in refused["errors"]}
        assert field in named, (path, field, refused)
        assert field in refused["detail"], (path, field, refused)
        assert any("U+" in e["message"] for e in refused["errors"])  # says which character


def test_free_text_keeps_its_lines_and_refuses_overrides(client, world, school):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    logged = client.post(
        f"/contacts/{cid}/messages",
        json=message(summary="Kick-off\u2028at 10\r\nBring kit"),
        headers=owner,
    )
    assert logged.status_code == 201, logged.text
    assert logged.json()["summary"] == "Kick-off\nat 10\r\nBring kit"  # breaks become "\n"
    for ch in ("\u202e", "\x1b", "\x9b"):
        refused = assert_problem(
            client.post(
                f"/contacts/{cid}/messages", json=message(summary=f"a{ch}b"), headers=owner
            ),
            422,
        )
        assert refused["errors"][0]["field"] == "summary"


def _poison(db, value: str, contact_ids: list[int], incident: int, world, school) -> None:  # type: ignore[no-untyped-def]
    """What someone with database access, or a row from before these rules, could hold."""
    with db.engine.begin() as conn:
        for cid in contact_ids:
            conn.execute(
                sql(
                    "UPDATE contact SET school_account = :v, platform = 'other', "
                    "platform_name = :v WHERE id = :id"
                ),
                {"v": value, "id": cid},
            )
        conn.execute(
            sql("UPDATE staff SET name = :v WHERE id = :id"), {"v": value, "id": world.ids["owner"]}
        )
        conn.execute(sql("UPDATE pupil SET given_name = :v, family_name = :v"), {"v": value})
        conn.execute(
            sql("UPDATE incident SET platform = 'other', platform_name = :v WHERE id = :id"),
            {"v": value, "id": incident},
        )


@pytest.mark.parametrize("name", list(NASTY))
def test_no_stored_text_stops_an_email(client, world, school, db, mail_settings, mail_server, name):
    value = f"Team{NASTY[name]}Bcc: someone@elsewhere.example{NASTY[name]}chat"
    owner, manager = world.auth("owner"), world.auth("manager")
    waiting = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    body = request_body(school, ends_on=(today() + timedelta(days=5)).isoformat())
    cid = client.post("/contacts", json=body, headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=manager)
    client.post(f"/contacts/{cid}/messages", json=message(device_tag="MY-PHONE"), headers=owner)
    consent = client.post(
        f"/pupils/{school['young']}/consents",
        json={
            "contact_id": cid,
            "guardian_id": school["guardian"],
            "method": "email",
            "evidence_reference": "e",
            "given_on": today().isoformat(),
        },
        headers=world.auth("admin"),
    ).json()["id"]
    client.post(f"/consents/{consent}/withdrawal", json={"reason": "r"}, headers=world.auth("dsl"))
    incident = client.post(
        "/incidents",
        json={
            "kind": "harassment_or_abuse",
            "platform": "instagram",
            "occurred_at": "2026-01-01T10:00:00Z",
            "what_happened": "Abusive message",
            "personal_information_shared": False,
            "other_person": "A parent",
        },
        headers=owner,
    ).json()["id"]
    _poison(db, value, [waiting, cid], incident, world, school)

    run_all(db, mail_settings, datetime.now(UTC))
    run_all(db, mail_settings, datetime.now(UTC) + timedelta(hours=25))
    run_all(db, mail_settings, noon(6))  # past the end: the prompt to delete
    run_all(db, mail_settings, noon(14))  # and the escalation

    with db.engine.connect() as conn:
        rows = conn.execute(sql("SELECT kind, state FROM outbox_email")).all()
    assert {state for _, state in rows} == {"sent"}, rows
    assert {kind for kind, _ in rows} >= {
        "approval_waiting",
        "ending_soon",
        "flagged_message",
        "consent_withdrawn",
        "incident_reported",
        "deletion_reminder",
        "deletion_escalation",
    }
    inbox = mail_server.inbox
    assert inbox.to(OWNER)
    assert inbox.to(MANAGER)
    assert inbox.to(DSL)
    assert len(inbox.received) == len(rows)
    for rcpt, received in inbox.received:
        assert received["Bcc"] is None
        assert "someone@elsewhere.example" not in rcpt
        for header in ("Subject", "To", "From"):
            unfolded = re.sub(r"\r?\n[ \t]", " ", str(received[header]))  # RFC 5322 folding
            assert not set(unfolded) & (set(NASTY.values()) | {"\n", "\r"}), unfolded
