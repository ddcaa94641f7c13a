"""Records under the chain: a row of any kept record edited, deleted, added or swapped directly
in the database is named by verification, by type and id; a chain recomputed to hide it still
fails against a signed checkpoint."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import text

from core import clock
from core.db import table_of
from core.directory.schools import create_trust
from core.principal import Principal
from core.record import audit, seals
from core.record.models import AuditEvent
from core.record.scan import Place, latest_seals, record_steps
from scheduler.retention import run_all
from scheduler.runner import run_job
from tests.support.builders import INCIDENT, message, request_body, today
from tests.support.ground import count_rows
from tests.support.record import checked, recompute_from, rewrite_log


@pytest.fixture
def story(client, world, school, db, settings):  # type: ignore[no-untyped-def]
    """Two or more rows of every kept record type, each made through the API."""
    owner, manager, admin, dsl = (world.auth(w) for w in ("owner", "manager", "admin", "dsl"))
    client.post("/devices", json={"asset_tag": "PE-LAPTOP", "description": "PE"}, headers=admin)
    ids = []
    for _ in range(2):
        cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
        client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=manager)
        ids.append(cid)
    for cid in ids:
        for n in range(2):
            logged = client.post(
                f"/contacts/{cid}/messages",
                json=message(summary=f"Kick-off is at {n + 9}"),
                headers=owner,
            )
            assert logged.status_code == 201, logged.text
    flagged = client.post(
        f"/contacts/{ids[0]}/messages", json=message(device_tag="MY-PHONE"), headers=owner
    ).json()
    for n in range(2):
        reviewed = client.post(
            f"/messages/{flagged['id'] - n}/reviews", json={"note": "Read"}, headers=dsl
        )
        assert reviewed.status_code == 201, reviewed.text
    for cid in ids:
        consent = {
            "contact_id": cid,
            "guardian_id": school["guardian"],
            "method": "email",
            "evidence_reference": f"E{cid}",
            "given_on": today().isoformat(),
        }
        assert (
            client.post(
                f"/pupils/{school['young']}/consents", json=consent, headers=admin
            ).status_code
            == 201
        )
        notice = {
            "contact_id": cid,
            "informed_on": today().isoformat(),
            "informed_by": "Office",
            "method": "letter",
            "reason_explained": "Team chat",
        }
        assert (
            client.post(
                f"/pupils/{school['older']}/parent-notices", json=notice, headers=admin
            ).status_code
            == 201
        )
    client.post(f"/contacts/{ids[1]}/end", json={"reason": "Season over"}, headers=owner)
    for _ in range(2):
        involved = {**INCIDENT, "pupils": [{"pupil_id": school["young"], "part": "initiated"}]}
        reported = client.post("/incidents", json=involved, headers=owner)
        assert reported.status_code == 201, reported.text
    for case in ("LADO/1", "POLICE/2"):
        hold = {
            "subject_type": "pupil",
            "subject_id": school["young"],
            "case_reference": case,
            "reason": "Investigation",
        }
        # Sent with a retry key, whose stored reply the first retention run removes.
        placed = client.post("/legal-holds", json=hold, headers={**dsl, "Idempotency-Key": case})
        assert placed.status_code == 201, placed.text
    released = client.post(
        f"/legal-holds/{placed.json()['id']}/release", json={"reason": "Closed"}, headers=dsl
    )
    assert released.status_code == 200, released.text
    for whose, subject in (("pupil", school["older"]), ("staff", world.ids["owner"])):
        request = {
            "subject_type": whose,
            "subject_id": subject,
            "requested_by": "By letter",
            "received_on": today().isoformat(),
        }
        asked = client.post("/subject-access-requests", json=request, headers=dsl)
        assert asked.status_code == 201, asked.text
    # Parents asked online: two guardians of the 14-year-old, on a contact of hers alone.
    for n in (1, 2):
        client.post(
            f"/pupils/{school['young']}/guardians",
            json={
                "name": f"Parent {n}",
                "relationship": "parent",
                "email": f"parent{n}@home.example.org",
                "has_parental_responsibility": True,
            },
            headers=admin,
        )
    asking = client.post(
        "/contacts", json=request_body(school, pupil_ids=[school["young"]]), headers=owner
    ).json()["id"]
    client.post(f"/contacts/{asking}/decision", json={"approve": True}, headers=manager)
    asked = client.post(f"/contacts/{asking}/consent-requests", headers=admin)
    assert asked.status_code == 201, asked.text
    assert len(asked.json()["items"]) == 2, asked.text
    # Two retention runs: one removes stored replies; years later, another redacts a
    # refused request for a pupil no hold covers (the held pupil's contacts stay whole).
    refused = client.post(
        "/contacts", json=request_body(school, pupil_ids=[school["older"]]), headers=owner
    ).json()["id"]
    client.post(
        f"/contacts/{refused}/decision",
        json={"approve": False, "reason": "Use the team page"},
        headers=manager,
    )
    # Two exports of the school phone's chats, with who is who in them.
    for n, pupil in enumerate(("young", "older")):
        when = (clock.now() - timedelta(minutes=5 + n)).strftime("%d/%m/%Y, %H:%M")
        chat = f"{when} - Pupil {n}: Is training on?\n{when} - School: Yes, at 4\n"
        uploaded = client.post(
            "/captures",
            headers=owner,
            data={
                "platform": "whatsapp",
                "school_account": request_body(school)["school_account"],
                "source": "whatsapp_export",
                "school_name": "School",
                "names": json.dumps({f"Pupil {n}": school[pupil]}),
            },
            files={"file": (f"WhatsApp Chat with Pupil {n}.txt", chat.encode())},
        )
        assert uploaded.status_code == 201, uploaded.text
    # Two concerns with their case files: a low-level one about the owner, and an allegation
    # about a colleague (whose hold keeps only their own records).
    head = world.auth("head")
    for kind, about in (("low_level", "owner"), ("allegation", "other_staff")):
        raised = client.post(
            "/concerns",
            json={
                "kind": kind,
                "subject_staff_id": world.ids[about],
                "happened_at": "2026-01-01T10:00:00Z",
                "what_happened": "Followed a pupil from a personal account",
                "records": [{"record_type": "contact", "record_id": ids[0]}],
            },
            headers=world.auth("manager"),
        )
        assert raised.status_code == 201, raised.text
        concern = raised.json()["id"]
        for path, body in (
            ("notes", {"text": "Spoke to the pupil"}),
            ("referral", {"agency": "lado", "referred_on": today().isoformat()}),
            (
                "actions",
                {"what": "Meet", "owner_id": world.ids["dsl"], "due_on": today().isoformat()},
            ),
        ):
            added = client.post(f"/concerns/{concern}/{path}", json=body, headers=head)
            assert added.status_code == 201, added.text
        attached = client.post(
            f"/concerns/{concern}/attachments",
            files={"file": ("note.txt", f"What was said ({kind})".encode())},
            headers=head,
        )
        assert attached.status_code == 201, attached.text
    # Changes waiting for a second person: a grant, and a date of birth of a pupil with records.
    client.patch(
        f"/staff/{world.ids['other_staff']}", json={"roles": ["staff", "approver"]}, headers=admin
    )
    dated = client.patch(
        f"/pupils/{school['young']}", json={"date_of_birth": "2011-01-01"}, headers=admin
    )
    assert dated.json()["pending_change_id"], dated.text
    # A second trust, made at the command line as trusts are.
    with db.transaction() as session:
        create_trust(session=session, actor=Principal.command_line(), at=clock.now(), name="T2")
    for later in (timedelta(days=100), timedelta(days=7 * 366)):
        assert run_all(db, settings, clock.now() + later), later
    return ids


def _verdict(client, world) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return dict(checked(client, world.auth("dsl")))


def test_records_made_through_the_api_are_all_sealed(client, world, db, story):
    verdict = _verdict(client, world)
    assert verdict["ok"] is True
    assert verdict["altered"] == []
    kept = sum(count_rows(db, table_of(k.model).name) for k in seals.KEPT.values())
    assert verdict["records_checked"] == kept
    assert {k for k in seals.KEPT} <= {key.split(":")[0] for key in _sealed(db)}, (
        "every kept record type is sealed by some event of the story"
    )


def _sealed(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with db.session() as session:
        return {
            f"{s.record_type}:{s.record_id}": s.hash for s in latest_seals(session.connection())
        }


def test_a_rewritten_summary_is_named_and_the_chain_alone_would_not_see_it(
    client, world, db, story
):
    with db.engine.begin() as conn:
        first = conn.execute(text("SELECT min(id) FROM message")).scalar_one()
        conn.execute(
            text("UPDATE message SET summary = 'Nothing to see here' WHERE id = :id"), {"id": first}
        )
    verdict = _verdict(client, world)
    assert verdict["ok"] is False
    assert verdict["first_bad"] is None
    assert verdict["altered"] == [
        {"record_type": "message", "record_id": first, "change": "edited"}
    ]


def test_a_removed_flag_a_deleted_entry_and_an_added_one_are_each_named(client, world, db, story):
    with db.engine.begin() as conn:
        last = conn.execute(text("SELECT max(id) FROM message")).scalar_one()
        flagged = conn.execute(
            text("SELECT min(message_id) FROM message_flag WHERE message_id <> :id"), {"id": last}
        ).scalar_one()
        conn.execute(text("DELETE FROM message_flag WHERE message_id = :id"), {"id": flagged})
        conn.execute(text("DELETE FROM message_flag WHERE message_id = :id"), {"id": last})
        conn.execute(text("DELETE FROM alert WHERE message_id = :id"), {"id": last})
        conn.execute(text("DELETE FROM message_pupil WHERE message_id = :id"), {"id": last})
        conn.execute(text("DELETE FROM message_review WHERE message_id = :id"), {"id": last})
        conn.execute(text("DELETE FROM message WHERE id = :id"), {"id": last})
    altered = _verdict(client, world)["altered"]
    assert {"record_type": "message", "record_id": flagged, "change": "edited"} in altered
    assert {"record_type": "message", "record_id": last, "change": "deleted"} in altered


def test_a_chain_recomputed_to_hide_an_edit_fails_against_the_checkpoint(
    client, world, db, story, mail_settings
):
    dsl = world.auth("dsl")
    run_job("checkpoint", db, mail_settings)
    log = client.get("/audit/log", headers=dsl).json()
    kept = {"note": log["latest"]["note"], "vkey": log["vkey"]}
    with db.engine.begin() as conn:
        first = conn.execute(text("SELECT min(id) FROM message")).scalar_one()
        conn.execute(text("UPDATE message SET summary = 'Rewritten' WHERE id = :id"), {"id": first})
    # The insider also rewrites the hash in the event that sealed it, recomputes the chain and
    # rebuilds the log, deleting its checkpoints.
    with db.transaction() as session:
        row = next(current for current in seals.current(session.connection(), "message", [first]))
        events = session.exec(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars()
        for event in events:
            details = json.loads(event.details)
            if f"message:{first}" in details.get("sealed", {}):
                details["sealed"][f"message:{first}"] = row[1]
                event.details = audit.canonical(details)
                session.add(event)
                seq = event.seq
    recompute_from(db, seq)
    rewrite_log(db, keep=lambda seq, newest: True, drop_checkpoints=True)
    assert _verdict(client, world)["ok"] is True  # it checks out by itself...
    verdict = client.post("/audit/log/checkpoints/verify", json=kept, headers=dsl).json()
    assert verdict["ok"] is False  # ...but not against what was signed and sent away


# ---------------------------------------------------------------- every record type, any change


def _different(value: Any, column: sa.Column[Any]) -> Any:
    """Another value of the column's kind, or None where there is no safe one to write."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return None
    if value is None:
        return {str: "x", bool: True, date: date(2020, 1, 2)}.get(kind) or (
            datetime(2020, 1, 2, tzinfo=UTC) if kind is datetime else None
        )
    if isinstance(value, bool):
        return not value
    if isinstance(value, datetime):
        return value + timedelta(days=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if isinstance(value, str):
        return value[:-1] + ("y" if value.endswith("x") else "x") if value else "x"
    return None


def _content_columns(name: str) -> list[sa.Column[Any]]:
    kept = seals.KEPT[name]
    table = table_of(kept.model)
    return [
        table.c[c]
        for c in kept.columns
        if c != "id" and not c.endswith("_id") and not table.c[c].foreign_keys
    ]


ACTIONS = ["edit", "delete", "insert", "swap", "child"]


def _unchecked(conn: sa.Connection) -> None:
    """As one with database access would: the rows that refer to what goes are left dangling
    (checks put off until a commit that never comes)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    else:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")


@examples(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(sorted(seals.KEPT)),
    action=st.sampled_from(ACTIONS),
    pick=st.integers(min_value=0, max_value=10_000),
)
def test_any_change_to_any_kept_record_outside_the_api_is_named(db, story, name, action, pick):
    kept = seals.KEPT[name]
    table = table_of(kept.model)
    with db.session() as session:
        conn = session.connection()
        rows = [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]
        assert len(rows) >= 2, name
        row = rows[pick % len(rows)]
        expected: set[tuple[str, int, str]] = set()
        if action == "edit":
            columns = [c for c in _content_columns(name) if _different(row[c.name], c) is not None]
            column = columns[pick % len(columns)]
            conn.execute(
                table.update()
                .where(table.c.id == row["id"])
                .values({column.name: _different(row[column.name], column)})
            )
            expected.add((name, row["id"], "edited"))
        elif action == "delete":
            _unchecked(conn)
            conn.execute(table.delete().where(table.c.id == row["id"]))
            expected.add((name, row["id"], "deleted"))
        elif action == "insert":
            copy = {k: v for k, v in row.items() if k != "id"}
            for column in _content_columns(name):
                if isinstance(copy.get(column.name), str):
                    copy[column.name] = copy[column.name][:-1] + "+"
            try:
                with conn.begin_nested():
                    new_id = conn.execute(
                        table.insert().values(copy).returning(table.c.id)
                    ).scalar_one()
            except sa.exc.IntegrityError:  # the database itself refuses a second one
                session.rollback()
                return
            expected.add((name, new_id, "unrecorded"))
        elif action == "swap":
            other = rows[(pick + 1) % len(rows)]
            columns = [c for c in _content_columns(name) if row[c.name] != other[c.name]]
            if not columns:
                session.rollback()
                return
            column = columns[pick % len(columns)]
            mine, theirs = row[column.name], other[column.name]
            # Through a spare value, as a careful tamperer would past a unique index (of the
            # same length, which a column of hashes holds exactly).
            spare = (mine[:-1] + "~" if mine else "~") if isinstance(mine, str) else mine
            for record_id, value in ((row["id"], spare), (other["id"], mine), (row["id"], theirs)):
                conn.execute(
                    table.update().where(table.c.id == record_id).values({column.name: value})
                )
            expected |= {(name, row["id"], "edited"), (name, other["id"], "edited")}
        else:  # a row that belongs to the record (a message's flag, a contact's pupil) goes
            owned = []
            for child in kept.children:
                child_table = table_of(child.model)
                owned += [
                    (child_table, dict(r._mapping))
                    for r in conn.execute(
                        sa.select(child_table).where(child_table.c[child.parent] == row["id"])
                    )
                ]
            if not owned:
                session.rollback()
                return
            child_table, child_row = owned[pick % len(owned)]
            _unchecked(conn)  # an attachment's file still refers to it
            conn.execute(
                child_table.delete().where(
                    sa.and_(*(child_table.c[k] == v for k, v in child_row.items()))
                )
            )
            expected.add((name, row["id"], "edited"))
        found = [a for step in record_steps(conn, Place("records")) for a, _ in step.altered]
        named = {(a.record_type, a.record_id, a.change) for a in found}
        session.rollback()
    assert expected <= named, (action, name, named)
