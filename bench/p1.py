"""P1, the log write under load from wrk, beside three baselines measured in the same run: the
framework's ceiling (bare async hello), a bare `def` POST, and the durable-write floor."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bench import data, wrk
from bench.measure import SECONDS, report, serve, stop
from core.db import Database
from core.settings import Settings

# How far above the framework's ceiling the generator must reach for that ceiling to be the
# server's own.
GENERATOR_HEADROOM = 5.0


def log_body() -> str:
    """The log entry every load run sends: an ordinary message a minute old. The seeded pupil
    is 17 and their parents were never told, so it is flagged, and the write stores its flag
    and the DSL's alert too: the heavier of the log's two paths."""
    return json.dumps(
        {
            "direction": "sent",
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "device_tag": "BENCH-1",
            "summary": "Reminded the team of Saturday's kick-off time",
        }
    )


def count_statements(db: Database, settings: Settings, contact_id: int) -> tuple[int, int]:
    """The reads and the writes one log write runs between BEGIN and COMMIT, counted on the
    real app in process, so the floor runs the same number of each."""
    from api.app import create_app

    seen: list[str] = []

    def note(_c: object, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the test client's note about its own transport
        from fastapi.testclient import TestClient

        client = TestClient(create_app(settings, db))
    with client:
        token = client.post(
            "/auth/token",
            data={"username": "teacher@bench.example.org", "password": data.PASSWORD},
        ).json()["access_token"]
        for attempt in ("warm", "counted"):  # the first warms what a server caches
            if attempt == "counted":
                event.listen(db.engine, "before_cursor_execute", note)
            try:
                response = client.post(
                    f"/contacts/{contact_id}/messages",
                    content=log_body(),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": f"bench-{attempt}",
                    },
                )
            finally:
                if attempt == "counted":
                    event.remove(db.engine, "before_cursor_execute", note)
            assert response.status_code == 201, response.text
    statements = [s for s in seen if s not in {"BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"}]
    reads = sum(1 for s in statements if s == "SELECT")
    return reads, len(statements) - reads


def log_writes(base: str, server_pid: int, contact_id: int, body: str) -> wrk.Load:
    """The teacher logging entries on their contact from wrk, each with its own key."""
    return wrk.run(
        base,
        f"/contacts/{contact_id}/messages",
        server_pid=server_pid,
        seconds=SECONDS,
        method="POST",
        body=body,
        token=data.teacher_token(base),
        distinct=True,
    )


def _generator_check(hello: wrk.Load) -> None:
    """Say loudly when the framework's ceiling was set by wrk rather than by the server."""
    ceiling = hello.generator_ceiling * wrk.THREADS
    server_cores = hello.server_cpu_us * hello.rps / 1e6
    generator_cores = hello.generator_cpu_us * hello.rps / 1e6
    print(
        f"  generator: wrk spent {hello.generator_cpu_us:.0f} µs of CPU per request, a ceiling "
        f"of {ceiling:,.0f} req/s on its {wrk.THREADS} threads = "
        f"{ceiling / hello.rps:.1f} x the bare ceiling ({hello.rps:,.0f} req/s); during that "
        f"run the server used {server_cores:.2f} cores, wrk {generator_cores:.2f}",
        flush=True,
    )
    if ceiling < GENERATOR_HEADROOM * hello.rps or server_cores < 0.85:
        print(
            "  !!! THE BASELINE IS BOUND BY THE LOAD GENERATOR, NOT BY THE SERVER: every ratio "
            "below flatters contactlog. Give wrk more threads (BENCH_WRK_THREADS) or the machine "
            "more cores. !!!",
            flush=True,
        )


def p1_log_write(
    backend: str,
    env: dict[str, str],
    db: Database,
    url: str,
    settings: Settings,
    school: data.School,
) -> None:
    body = log_body()
    reads, writes = count_statements(db, settings, school.contact_id)

    def measured(
        argv: list[str], extra: dict[str, str], health: str, *runs: dict[str, Any]
    ) -> list[wrk.Load]:
        process, base = serve(argv, {**env, **extra}, health)
        try:
            return [wrk.run(base, server_pid=process.pid, seconds=SECONDS, **run) for run in runs]
        finally:
            stop(process)

    uvicorn = [sys.executable, "-m", "uvicorn"]
    hello, bare_post = measured(
        [*uvicorn, "bench.bare_app:app"],
        {},
        "/bare-async",
        {"path": "/bare-async"},
        {"path": "/bare-sync", "method": "POST", "body": body},
    )
    _generator_check(hello)
    (floor,) = measured(
        [*uvicorn, "bench.floor_app:app"],
        {
            "BENCH_FLOOR_URL": url,
            "BENCH_FLOOR_READS": str(reads),
            "BENCH_FLOOR_WRITES": str(writes),
        },
        "/healthz",
        {"path": "/floor", "method": "POST", "body": body},
    )
    print(
        f"  baselines, {backend}: bare async hello {hello.line()}\n"
        f"    bare def POST {bare_post.line()}\n"
        f"    durable-write floor ({reads} reads + {writes} writes in one transaction) "
        f"{floor.line()}",
        flush=True,
    )
    if backend == "postgresql":
        # Not baselines: the floor's own statements through the stack's layers, to show what
        # the stack costs before contactlog does anything (see README, "What limits P1").
        floor_env = {
            "BENCH_FLOOR_URL": url,
            "BENCH_FLOOR_READS": str(reads),
            "BENCH_FLOOR_WRITES": str(writes),
        }
        for via, path in (("sqlalchemy-sync", "/floor-sync"), ("sqlalchemy-async", "/floor")):
            (layered,) = measured(
                [*uvicorn, "bench.floor_app:app"],
                {**floor_env, "BENCH_FLOOR_VIA": via},
                "/healthz",
                {"path": path, "method": "POST", "body": body},
            )
            print(
                f"    the floor's statements through SQLAlchemy ({via}): {layered.line()} = "
                f"{layered.rps / floor.rps:.2f} x the floor",
                flush=True,
            )
    logged: dict[int, wrk.Load] = {}
    for workers in (1, 2):
        contactlog = [sys.executable, "-m", "api.cli", "serve", "--workers", str(workers)]
        process, base = serve(contactlog, env, "/healthz")
        time.sleep(2 * (workers - 1))  # every worker up, not just the first to answer
        try:
            logged[workers] = log_writes(base, process.pid, school.contact_id, body)
        finally:
            stop(process)
        print(f"  log write, {workers} worker(s): {logged[workers].line()}", flush=True)
    one = logged[1]
    report(
        "P1 log write / durable-write floor",
        backend,
        one.rps / floor.rps,
        ">= 0.50",
        f"{one.rps:,.0f} vs {floor.rps:,.0f} req/s; {one.rps / hello.rps:.3f} x async hello "
        f"({hello.rps:,.0f}), {one.rps / bare_post.rps:.3f} x def POST ({bare_post.rps:,.0f}); "
        f"p50 {one.p50_ms:.0f} / p95 {one.p95_ms:.0f} / p99 {one.p99_ms:.0f} ms; "
        f"errors {one.errors}",
    )
    two = logged[2]
    # What the whole machine could serve at the CPU two workers, the database and wrk spent per
    # request: where that is near what was served, the cores, not the workers, set the limit.
    cores = os.cpu_count() or 1
    machine = cores * 1e6 / (two.server_cpu_us + two.database_cpu_us + two.generator_cpu_us)
    report(
        "P1 log write: 2 workers / 1",
        backend,
        two.rps / one.rps,
        ">= 1.60" if backend == "postgresql" else "(info)",
        f"{two.rps:,.0f} vs {one.rps:,.0f} req/s; errors {two.errors}; {cores} cores shared "
        f"with wrk{' and PostgreSQL' if backend == 'postgresql' else ''} could serve at most "
        f"{machine:,.0f} req/s at the CPU each request took, so 2 workers reached "
        f"{two.rps / machine:.0%} of the machine",
    )
