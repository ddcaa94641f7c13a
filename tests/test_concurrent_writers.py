"""Fifty staff clients logging at once on PostgreSQL, retrying as flaky Wi-Fi makes them:
nothing lost, nothing doubled, and the change record still verifies."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.support.builders import request_body
from tests.support.ground import count_rows
from tests.support.record import checked
from tests.support.servers import Server

WRITERS = 50
EACH = 200


def test_fifty_writers_with_retries_lose_and_double_nothing(
    app, world, school, db, database_url, backend, client, tmp_path
):
    if backend != "postgresql":
        pytest.skip("the concurrency that matters is PostgreSQL's; SQLite serialises writers")
    owner = world.auth("owner")
    contact = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    client.post(
        f"/contacts/{contact}/decision", json={"approve": True}, headers=world.auth("manager")
    )
    server = Server(database_url, str(tmp_path / "server"))
    server.env["CONTACTLOG_JWT_SECRET"] = app.state.settings.jwt_secret  # accept world's tokens
    server.start()
    failures: list[str] = []
    sent: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=server.url, headers=owner, timeout=60) as http:
            for i in range(EACH):
                key, summary = str(uuid.uuid4()), f"writer {n} entry {i}"
                body = {
                    "direction": "sent",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "device_tag": "PE-IPAD",
                    "summary": summary,
                }
                answers = []
                # One try in five is repeated, as a client does when an answer is lost.
                for _ in range(2 if rng.random() < 0.2 else 1):
                    answers.append(
                        http.post(
                            f"/contacts/{contact}/messages",
                            json=body,
                            headers={"Idempotency-Key": key},
                        ).status_code
                    )
                while 409 in answers and 201 not in answers:  # the first was still in flight
                    answers.append(
                        http.post(
                            f"/contacts/{contact}/messages",
                            json=body,
                            headers={"Idempotency-Key": key},
                        ).status_code
                    )
                with lock:
                    if 201 in answers and all(a in (201, 409) for a in answers):
                        sent.append(summary)
                    else:
                        failures.append(f"{summary}: {answers}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    assert failures == []
    assert len(sent) == WRITERS * EACH
    assert count_rows(db, "message") == WRITERS * EACH
    with db.session() as session:
        from sqlmodel import func, select

        from contacts.models import Message

        distinct = session.exec(select(func.count(func.distinct(Message.summary)))).one()
        assert distinct == WRITERS * EACH
    verified = checked(client, world.auth("dsl"))
    assert verified["ok"] is True
    assert verified["checked"] == count_rows(db, "audit_event")
