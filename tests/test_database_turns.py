"""A burst of requests bigger than the worker thread pool: every one is answered, quickly."""

from __future__ import annotations

import time

import anyio
import anyio.to_thread
import httpx

from core.record import verification
from tests.support.builders import message, request_body
from tests.support.ground import count_rows

THREADS = 4
BURST = 40


def test_a_burst_bigger_than_the_thread_pool_is_all_logged(app, client, world, school, db):
    owner = world.auth("owner")
    contact = client.post("/contacts", json=request_body(school), headers=owner).json()["id"]
    statuses: list[int] = []

    async def log_one(http: httpx.AsyncClient, n: int) -> None:
        response = await http.post(
            f"/contacts/{contact}/messages",
            json=message(summary=f"Burst entry {n}"),
            headers={**owner, "Idempotency-Key": f"burst-{n}"},
        )
        statuses.append(response.status_code)

    async def burst() -> None:
        # Few threads, many requests: were a request to wait for the database inside a worker
        # thread, the threads would all wait on a request that needs a thread to commit.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
            anyio.create_task_group() as group,
        ):
            for n in range(BURST):
                group.start_soon(log_one, http, n)

    started = time.monotonic()
    anyio.run(burst)
    assert statuses == [201] * BURST
    assert time.monotonic() - started < 20  # no request sat out a lock timeout (30 s)
    assert count_rows(db, "message") == BURST
    with db.session() as session:
        assert verification.verify(session).ok
