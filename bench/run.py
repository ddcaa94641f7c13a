"""`make bench`: the five figures, each a ratio to a baseline measured in the same run, on
SQLite and on PostgreSQL. Sizes scale with BENCH_SCALE (1.0 = the sizes the targets name)."""

from __future__ import annotations

import json
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from bench import data
from contacts.review import service as review
from contacts.service import end_contacts_past_their_end_date
from core import verification
from core.db import Database
from core.outbox import enqueue
from core.pagination import encode_cursor
from core.principal import Principal
from core.settings import Settings

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
# BENCH_ONLY=P1,P5 runs some figures; BENCH_BACKENDS=postgresql runs on one database.
ONLY = {f.strip().upper() for f in os.environ.get("BENCH_ONLY", "P1,P2,P3,P4,P5").split(",")}
BACKENDS = [b.strip() for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")]
RESULTS: list[tuple[str, str, str, str, str]] = []


def n(count: int) -> int:
    return max(1000, int(count * SCALE))


def report(figure: str, backend: str, ratio: float, target: str, detail: str) -> None:
    RESULTS.append((figure, backend, f"{ratio:.2f}", target, detail))
    print(f"  {figure:<34} {backend:<10} {ratio:>7.2f}  target {target:<7} {detail}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(argv: list[str], env: dict[str, str], health: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [*argv, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + health).status_code < 500:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{argv} did not start")


def load(url: str, path: str, method: str = "GET", token: str = "") -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            url,
            path,
            "--method",
            method,
            "--token",
            token,
            "--concurrency",
            os.environ.get("BENCH_CLIENTS", "32"),
            "--seconds",
            str(SECONDS),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


# ---------------------------------------------------------------- the figures


def p1_log_write(backend: str, env: dict[str, str]) -> None:
    bare, bare_url = serve([sys.executable, "-m", "uvicorn", "bench.bare_app:app"], env, "/docs")
    try:
        baseline = load(bare_url, "/bare-sync", "POST")
    finally:
        bare.terminate()
        bare.wait()
    server, base = serve([sys.executable, "-m", "api.cli", "serve"], env, "/healthz")
    try:
        token = httpx.post(
            f"{base}/auth/token",
            data={"username": "teacher@bench.example.org", "password": data.PASSWORD},
        ).json()["access_token"]
        contact = httpx.get(
            f"{base}/contacts", headers={"Authorization": f"Bearer {token}"}
        ).json()["items"][0]["id"]
        logged = load(base, f"/contacts/{contact}/messages", "POST", token)
    finally:
        server.terminate()
        server.wait()
    report(
        "P1 log write / bare def endpoint",
        backend,
        logged["rps"] / baseline["rps"],
        ">= 0.30",
        f"{logged['rps']:.0f} vs {baseline['rps']:.0f} req/s, p95 {logged['p95_ms']:.0f} ms, "
        f"errors {logged['errors']}",
    )


def p2_review_page(
    backend: str, db: Database, school: data.School, total: int, small_first: float | None
) -> float:
    """Page 10 000 against page 1, and page 1 against page 1 of the small log if measured;
    returns this log's page-1 time."""
    dsl = Principal(
        staff_id=school.dsl_id,
        school_id=school.school_id,
        trust_id=1,
        roles=frozenset({data.Role.dsl, data.Role.staff}),
    )
    where = review.LogFilter(staff_id=school.teacher_id, pupil_id=school.pupil_id)

    def page(cursor: str | None, size: int = 50) -> None:
        with db.session() as session:
            review.search(
                session=session,
                actor=dsl,
                at=datetime.now(UTC),
                where=where,
                cursor=cursor,
                limit=size,
            )
            session.rollback()  # not the access record: the read itself is measured

    deep = (
        encode_cursor(total - 50 * 9_999 + 1) if total > 50 * 10_000 else encode_cursor(total // 2)
    )
    first = timed(lambda: page(None), 7)
    far = timed(lambda: page(deep), 7)
    report(
        "P2 page 10 000 / page 1",
        backend,
        far / first,
        "<= 1.5",
        f"{far * 1000:.1f} vs {first * 1000:.1f} ms over {total:,} rows",
    )
    if small_first is not None:
        report(
            "P2 page 1: big log / small log",
            backend,
            first / small_first,
            "<= 2",
            f"{first * 1000:.1f} ms at {total:,} vs {small_first * 1000:.1f} ms at 10,000",
        )
    return first


def p3_end_sweep(backend: str, folder: str, settings: Settings, size: int) -> float:
    db, _, schema = data.fresh_database(backend, folder)
    try:
        school = data.seed_school(db, settings)
        data.bulk_contacts(db, school, size, 1000, f"P3 {backend}")
        at = datetime.now(UTC)

        def sweep() -> None:
            with db.transaction() as session:
                ended = end_contacts_past_their_end_date(
                    session=session, actor=Principal.command_line(), settings=settings, at=at
                )
                assert ended == 1000, ended

        return timed(sweep)
    finally:
        db.dispose()
        data.drop(backend, schema)


class Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.count += 1
        return "250 OK"


def _wait_for(sink: Sink, count: int, limit: float) -> float | None:
    """Seconds from the first email's arrival to the `count`th, or None if it never came."""
    deadline = time.perf_counter() + limit
    while sink.count == 0 and time.perf_counter() < deadline:
        time.sleep(0.005)
    first = time.perf_counter()
    while sink.count < count and time.perf_counter() < deadline:
        time.sleep(0.01)
    return time.perf_counter() - first if sink.count >= count else None


def _queue(db: Database, count: int, label: str) -> None:
    with db.transaction() as session:
        for i in range(count):
            enqueue(
                session,
                dedupe_key=f"bench:{label}:{i}",
                kind="bench",
                to_address="t@example.org",
                subject="Action needed",
                body="Please delete the contact method.\n" * 5,
                at=datetime.now(UTC),
            )


def _sink_ceiling(port: int, count: int) -> float:
    """What the local SMTP server takes from the leanest sender, one connection: P4's ceiling."""
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "a@example.org", "t@example.org", "Test"
    email.set_content("Please delete the contact method.\n" * 5)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for _ in range(count):
            smtp.send_message(email)
    return count / (time.perf_counter() - started)


def p4_outbox(backend: str, folder: str, env: dict[str, str]) -> None:
    """End to end: `contactlog scheduler` running as in production, delivering a queue of 2,500
    emails into a local SMTP server; then the same after the mail server was down for a while."""
    db, url, schema = data.fresh_database(backend, folder)
    port = free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    count = 2500
    ceiling = _sink_ceiling(port, count)
    sink.count = 0
    print(
        f"  (the SMTP sink itself takes {ceiling:.0f} emails/s from a bare smtplib loop:"
        f" {'the server, not the sink, bounds P4' if ceiling > 2 * 200 else 'SINK-BOUND'})"
    )
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "scheduler"],
        env={
            **env,
            "CONTACTLOG_DATABASE_URL": url,
            "CONTACTLOG_SMTP_HOST": "127.0.0.1",
            "CONTACTLOG_SMTP_PORT": str(port),
            "CONTACTLOG_SMTP_SECURITY": "none",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _queue(db, count, "steady")
        took = _wait_for(sink, count, 180)
        rate = count / took if took else 0.0
        report(
            "P4 outbox emails/s, end to end / 200",
            backend,
            rate / 200,
            ">= 1.00",
            f"{rate:.0f} emails/s: {count:,} queued, through a running scheduler into SMTP",
        )
        controller.stop()  # the mail server goes down; the queue grows meanwhile
        _queue(db, count, "outage")
        time.sleep(20)
        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        back = time.perf_counter()
        _wait_for(sink, count, 180)
        cleared = time.perf_counter() - back
        report(
            "P4 backlog cleared after outage / 30 s",
            backend,
            cleared / 30,
            "<= 1.00",
            f"{count:,} emails queued during a 20 s outage, all delivered {cleared:.1f} s after"
            " the mail server came back",
        )
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
        controller.stop()
        db.dispose()
        data.drop(backend, schema)


def p5_chain(backend: str, db: Database, links: int) -> None:
    data.bulk_chain(db, links, f"P5 {backend}")
    with db.session() as session:
        elapsed = timed(lambda: verification.verify(session))
        checked = verification.verify(session).checked
    rate = checked / elapsed
    report(
        "P5 chain verify links per second",
        backend,
        rate / 200_000,
        ">= 1.00",
        f"{rate:,.0f} links/s over {checked:,} (target 200 000/s)",
    )


def export_peak(url: str, school: data.School, env: dict[str, str], rows: int) -> int:
    """Peak memory (KiB) of a process that streams the export of the log's first `rows` entries
    (the generated entries are a second apart)."""
    last = data.FIRST_MESSAGE_AT + timedelta(seconds=rows - 1)
    code = (
        "import resource, sys\n"
        "from contacts.review.service import LogFilter, export_csv\n"
        "from core.principal import Principal\nfrom core.db import Database\n"
        "from core.directory.models import Role\n"
        f"db = Database({url!r})\n"
        f"p = Principal(staff_id={school.dsl_id}, school_id={school.school_id}, trust_id=1, "
        "roles=frozenset({Role.dsl}))\n"
        "from datetime import datetime\n"
        f"where = LogFilter(occurred_to=datetime.fromisoformat({last.isoformat()!r}))\n"
        "size = sum(len(chunk) for chunk in export_csv(db, p, where))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, size)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return int(out[0])


def log_figures(
    backend: str, folder: str, settings: Settings, env: dict[str, str], big: int, small: int
) -> None:
    """P1 on the small log; P2 on both logs; P5 beside the big one."""
    small_first: float | None = None
    sizes = (small, big) if ONLY & {"P2", "P5"} else (small,)
    for size in sizes:
        db, url, schema = data.fresh_database(backend, folder)
        try:
            school = data.seed_school(db, settings)
            data.bulk_messages(db, school, size, f"{backend}")
            if size == small and "P1" in ONLY:
                p1_log_write(backend, {**env, "CONTACTLOG_DATABASE_URL": url})
            if "P2" in ONLY:
                first = p2_review_page(backend, db, school, size, small_first)
                small_first = small_first or first
            if size == big and "P5" in ONLY:
                # Both exports from the same (big) database, so the figure is the export's own
                # memory; the database's size moves a process's peak by itself (see README).
                exported = min(size, n(1_000_000))
                few, many = (export_peak(url, school, env, rows) for rows in (small, exported))
                report(
                    "P5 CSV export memory: big / small",
                    backend,
                    many / few,
                    "<= 1.2",
                    f"{many / 1024:.0f} MiB exporting {exported:,} rows vs "
                    f"{few / 1024:.0f} MiB exporting {small:,}, of a {size:,}-row log",
                )
                p5_chain(backend, db, n(1_000_000))
        finally:
            db.dispose()
            data.drop(backend, schema)


def main() -> None:
    print(f"contactlog benchmarks (scale {SCALE}, {SECONDS:.0f} s load runs, 32 clients)\n")
    settings = Settings(
        jwt_secret="bench-secret-" + "b" * 40,
        password_time_cost=1,
        password_memory_kib=64,
        scheduler_in_process=False,
    )
    big, small = n(10_000_000), 10_000
    sweep_big = n(1_000_000)
    with tempfile.TemporaryDirectory() as folder:
        for backend in BACKENDS:
            env = {
                **os.environ,
                "CONTACTLOG_JWT_SECRET": settings.jwt_secret,
                "CONTACTLOG_SCHEDULER_IN_PROCESS": "false",
                "CONTACTLOG_DATA_DIR": folder,
                "CONTACTLOG_PASSWORD_TIME_COST": "1",
                "CONTACTLOG_PASSWORD_MEMORY_KIB": "64",
            }
            if ONLY & {"P1", "P2", "P5"}:
                log_figures(backend, folder, settings, env, big, small)
            if "P3" in ONLY:
                large = p3_end_sweep(backend, folder, settings, sweep_big)
                little = p3_end_sweep(backend, folder, settings, 10_000)
                report(
                    "P3 end sweep: big / small",
                    backend,
                    large / little,
                    "<= 2",
                    f"{large * 1000:.0f} ms over {sweep_big:,} vs {little * 1000:.0f} ms over"
                    " 10,000 contacts, 1,000 due",
                )
            if "P4" in ONLY:
                p4_outbox(backend, folder, env)
    print("\nfigure                             backend      ratio  target")
    for figure, backend, ratio, target, _ in RESULTS:
        print(f"{figure:<34} {backend:<10} {ratio:>7}  {target}")


if __name__ == "__main__":
    main()
