"""The change record resists tampering, and retried creates never duplicate, even concurrently."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from core import clock
from core.principal import Principal
from core.record import audit, chain
from core.record.models import AuditHead
from tests.support.builders import message, request_body
from tests.support.ground import assert_problem, count_rows
from tests.support.record import checked, stored_events


@pytest.fixture
def busy_contact(client, world, school, db):
    """A contact's six events, after `base` events of setting up the directory."""
    base = count_rows(db, "audit_event")
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    for i in range(4):
        client.post(f"/contacts/{cid}/messages", json=message(summary=f"note {i}"), headers=owner)
    return base


def _verify(client, world):  # type: ignore[no-untyped-def]
    """The chain's verdict, without the moment of the check (`verified_at`) or the records'
    part (tests/test_sealed_records.py checks that)."""
    result = checked(client, world.auth("dsl"))
    assert result.pop("verified_at")
    result.pop("altered")
    result.pop("records_checked")
    result.pop("altered_elsewhere")
    result.pop("problem")
    result.pop("checking")
    return result


def test_an_untouched_chain_verifies(client, world, busy_contact):
    assert _verify(client, world) == {"ok": True, "checked": busy_contact + 6, "first_bad": None}
    assert checked(client, world.auth("dsl"))["altered"] == []


# Statements a tamperer might run; {n} is the n-th event of the contact, {first} the very first.
TAMPERING = [
    ("UPDATE audit_event SET reason = 'nothing to see' WHERE seq = {3}", 3),
    ("UPDATE audit_event SET actor_id = actor_id + 1 WHERE seq = {2}", 2),
    ("UPDATE audit_event SET details = '{{}}' WHERE seq = {4}", 4),
    ("UPDATE audit_event SET at = at - interval '1 day' WHERE seq = {4}", 4),
    ("DELETE FROM audit_event WHERE seq = {3}", 3),
    ("DELETE FROM audit_event WHERE seq = {6}", 6),
    ("swap {4} and {5}", 4),
    ("UPDATE audit_event SET link_hash = prev_hash WHERE seq = {5}", 5),
    ("UPDATE audit_event SET reason = 'x' WHERE seq = 1", 0),
]


@pytest.mark.parametrize(("sql", "nth"), TAMPERING)
def test_tampering_with_sql_names_the_first_bad_link(
    client, world, db, backend, busy_contact, sql, nth
):
    if "interval" in sql and backend == "sqlite":
        sql = "UPDATE audit_event SET at = '2020-01-01 00:00:00.000000' WHERE seq = {4}"
    seqs = [0] + [busy_contact + k for k in range(1, 7)]
    first_bad = busy_contact + nth if nth else 1
    with db.engine.begin() as conn:
        if sql.startswith("swap"):
            # Swap two rows through a free number, as a careful tamperer would.
            conn.execute(text(f"UPDATE audit_event SET seq = 100000 WHERE seq = {seqs[4]}"))
            conn.execute(text(f"UPDATE audit_event SET seq = {seqs[4]} WHERE seq = {seqs[5]}"))
            conn.execute(text(f"UPDATE audit_event SET seq = {seqs[5]} WHERE seq = 100000"))
        else:
            conn.execute(text(sql.format(*seqs)))
    result = _verify(client, world)
    assert result["ok"] is False
    assert result["first_bad"] == first_bad
    assert result["checked"] == first_bad - 1
    # PostgreSQL verifies in SQL; the Python walk over the same rows must say the same.
    with db.session() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        walked = chain.check_chain(
            stored_events(session), head_seq=head.seq, head_link=head.link_hash
        )
    assert (
        walked.model_dump(
            exclude={
                "verified_at",
                "altered",
                "records_checked",
                "altered_elsewhere",
                "problem",
                "checking",
            }
        )
        == result
    )


@pytest.mark.parametrize(
    "value",
    ["'yesterday'", "12345", "'2020-01-01T00:00:00+00:00'", "'2020-01-01 00:00:00'"],
)
def test_a_time_rewritten_in_any_form_is_a_bad_link_not_an_error(
    client, world, db, backend, busy_contact, value
):
    if backend != "sqlite":
        pytest.skip("PostgreSQL's typed columns refuse such values outright")
    with db.engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_event SET at = {value} WHERE seq = {busy_contact + 4}"))
    first_bad = busy_contact + 4
    assert _verify(client, world) == {"ok": False, "checked": first_bad - 1, "first_bad": first_bad}


def test_both_verifications_agree_on_an_untouched_chain(db, busy_contact):
    with db.session() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        walked = chain.check_chain(
            stored_events(session), head_seq=head.seq, head_link=head.link_hash
        )
        assert chain.verify_chain(session) == walked
        assert walked.ok
        assert walked.checked == busy_contact + 6


def test_events_are_linked_when_their_transaction_commits(db, busy_contact):
    # On PostgreSQL the server links them inside COMMIT; nothing is left waiting.
    assert count_rows(db, "audit_pending") == 0
    assert count_rows(db, "audit_event") == busy_contact + 6


def test_a_commit_that_cannot_join_the_chain_keeps_nothing(db, world, busy_contact):
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    session = db.session()
    try:
        session.execute(
            text("UPDATE school SET name = 'Renamed' WHERE id = :id"), {"id": world.school_a}
        )
        audit.record(
            session,
            actor=Principal.command_line(),
            at=clock.now(),
            action="school.renamed",
            object_type="school",
            object_id=world.school_a,
            school_id=world.school_a,
        )
        with pytest.raises(Exception, match="no head row"):
            session.commit()
    finally:
        session.close()
    with db.engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM school WHERE id = :id"), {"id": world.school_a})
        assert names.scalar_one() != "Renamed"
    assert count_rows(db, "audit_event") == busy_contact + 6
    assert count_rows(db, "audit_pending") == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [("dsl", 200), ("trust_dsl", 200), ("admin", 403), ("owner", 403), (None, 401)],
)
def test_who_may_read_and_verify_the_change_record(client, world, busy_contact, who, status):
    assert client.get("/audit/verify", headers=world.auth(who)).status_code == status
    assert client.get("/audit/events", headers=world.auth(who)).status_code == status


def test_another_schools_dsl_sees_none_of_these_events(client, world, busy_contact):
    events = client.get("/audit/events", headers=world.auth("other_school")).json()["items"]
    assert events
    assert {e["school_id"] for e in events} == {world.school_b}


def test_events_say_who_did_what_and_page(client, world, busy_contact):
    dsl = world.auth("dsl")
    page = client.get("/audit/events?object_type=contact&limit=1", headers=dsl).json()
    assert [e["action"] for e in page["items"]] == ["contact.requested"]
    rest = client.get(
        f"/audit/events?object_type=contact&cursor={page['next_cursor']}", headers=dsl
    ).json()
    assert [e["action"] for e in rest["items"]] == ["contact.approved"]
    assert rest["items"][0]["actor_id"] == world.ids["manager"]
    assert rest["next_cursor"] is None
    logged = client.get("/audit/events?action=message.logged", headers=dsl).json()["items"]
    assert [e["seq"] for e in logged] == [busy_contact + k for k in (3, 4, 5, 6)]
    granted = client.get("/audit/events?action=staff.created", headers=dsl).json()["items"]
    assert {e["object_id"] for e in granted} >= {world.ids["owner"], world.ids["dsl"]}


# ---------------------------------------------------------------- idempotency


def test_same_key_same_body_returns_the_original_and_writes_nothing(client, world, school, db):
    headers = {**world.auth("owner"), "Idempotency-Key": "req-1"}
    first = client.post("/contacts", json=request_body(school), headers=headers)
    second = client.post("/contacts", json=request_body(school), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert count_rows(db, "contact") == 1
    requested = client.get("/audit/events?action=contact.requested", headers=world.auth("dsl"))
    assert len(requested.json()["items"]) == 1


def test_same_key_different_body_is_422(client, world, school, db):
    headers = {**world.auth("owner"), "Idempotency-Key": "req-2"}
    client.post("/contacts", json=request_body(school), headers=headers)
    other = request_body(school, purpose="Something else")
    assert_problem(
        client.post("/contacts", json=other, headers=headers), 422, detail_contains="different"
    )
    assert count_rows(db, "contact") == 1


def test_keys_belong_to_one_account(client, world, school, db):
    body = request_body(school)
    for who in ("owner", "other_staff"):
        response = client.post(
            "/contacts", json=body, headers={**world.auth(who), "Idempotency-Key": "k"}
        )
        assert response.status_code == 201
    assert count_rows(db, "contact") == 2


def test_a_failed_request_does_not_burn_its_key(client, world, school, db):
    headers = {**world.auth("owner"), "Idempotency-Key": "req-3"}
    bad = request_body(school, device_ids=[987654])
    assert_problem(client.post("/contacts", json=bad, headers=headers), 422)
    assert client.post("/contacts", json=bad, headers=headers).status_code == 422
    assert count_rows(db, "idempotency_key") == 0


def test_a_silly_key_is_refused(client, world, school):
    headers = {**world.auth("owner"), "Idempotency-Key": "x" * 500}
    assert_problem(client.post("/contacts", json=request_body(school), headers=headers), 422)


def test_twenty_threads_retrying_their_messages_log_each_exactly_once(
    app, world, school, db, client
):
    owner = world.auth("owner")
    cid = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    keys = [str(uuid.uuid4()) for _ in range(20 * 5)]
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as c:
            for key in keys[n * 5 : n * 5 + 5]:
                body = message(summary=f"entry {key}", occurred_at=datetime.now(UTC).isoformat())
                # Each entry is sent three times, as a client on flaky Wi-Fi would.
                for _ in range(3):
                    r = c.post(
                        f"/contacts/{cid}/messages",
                        json=body,
                        headers={**owner, "Idempotency-Key": key},
                    )
                    with lock:
                        statuses.append(r.status_code)
                    if r.status_code == 201:
                        body_sent = r.json()
                        assert body_sent["summary"] == f"entry {key}"

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) <= {201, 409}, statuses
    assert count_rows(db, "message") == 100
    summaries = [m["summary"] for m in _all_messages(client, world, cid)]
    assert sorted(summaries) == sorted(f"entry {k}" for k in keys)
    result = _verify(client, world)
    assert result["ok"] is True
    assert result["first_bad"] is None
    assert result["checked"] == count_rows(db, "audit_event")


def _all_messages(client, world, cid):  # type: ignore[no-untyped-def]
    items, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get(
            f"/contacts/{cid}/messages", params=params, headers=world.auth("dsl")
        ).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_a_duplicate_while_the_first_is_in_flight_is_409(client, world, school, db, backend):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: a duplicate waits for the first and is replayed")
    from core import idempotency

    body = request_body(school)
    endpoint = "POST /contacts"
    with db.session() as in_flight:
        # The first request holds the key's lock inside its unfinished transaction.
        assert (
            idempotency.begin(
                in_flight,
                staff_id=world.ids["owner"],
                key="slow",
                endpoint=endpoint,
                request_hash=idempotency.fingerprint(endpoint, body),
                at=clock.now(),
            )
            is None
        )
        duplicate = client.post(
            "/contacts", json=body, headers={**world.auth("owner"), "Idempotency-Key": "slow"}
        )
        assert_problem(duplicate, 409, detail_contains="still being processed")
        in_flight.rollback()
    retried = client.post(
        "/contacts", json=body, headers={**world.auth("owner"), "Idempotency-Key": "slow"}
    )
    assert retried.status_code == 201
    assert count_rows(db, "contact") == 1


def test_the_record_says_who_acted_where_no_account_did(client, world, school, db, settings):
    """An investigator tells a sweep's ending from an operator's: where no account acted, each
    event says whether it was the scheduler or the command line."""
    from datetime import timedelta

    from scheduler.runner import run_job
    from tests.support.builders import today

    body = request_body(school, ends_on=(today() + timedelta(days=1)).isoformat())
    cid = client.post("/contacts", json=body, headers=world.auth("owner")).json()["id"]
    client.post(f"/contacts/{cid}/decision", json={"approve": True}, headers=world.auth("manager"))
    run_job("end_sweep", db, settings, datetime.now(UTC) + timedelta(days=3))
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, actor_id, details FROM audit_event ORDER BY seq")
        ).all()
    by = {action: (actor, json.loads(details).get("by")) for action, actor, details in rows}
    assert by["trust.created"] == (None, "command line")  # the trust was made at the command line
    assert by["contact.ended"] == (None, "scheduler")
    assert by["contact.approved"][1] is None  # a person acted: their account is the actor
    assert by["contact.approved"][0] == world.ids["manager"]
