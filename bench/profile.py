"""`python -m bench.profile [postgresql|sqlite]`: where the log write's server time goes under
load. py-spy samples the server while wrk loads it, taking only the thread that holds the GIL
and never pausing the process (so the figure measured beside it barely moves); each sample is
counted under the stage of the request its innermost recognised frame belongs to.

The samples are written, as collapsed stacks (what flamegraph.pl and speedscope read), to
BENCH_PROFILE_DIR (default ./bench-profile)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import data
from bench.measure import SECONDS, serve, stop
from bench.p1 import log_body, log_writes
from core.settings import Settings

# Stages, innermost first: a sample belongs to the first stage one of its frames matches,
# looking from the frame that was running outwards.
STAGES: list[tuple[str, re.Pattern[str]]] = [
    ("SQL: SQLAlchemy and the driver", re.compile(r"\((sqlalchemy|sqlmodel|psycopg|sqlite3)/")),
    ("the change record and seals", re.compile(r"\(core/record/(audit|seals)\.py")),
    ("idempotency keys", re.compile(r"\((core|api)/idempotency\.py")),
    ("who is asking: token, principal", re.compile(r"\((jose|core/identity/(security|auth))")),
    ("the log write's rules", re.compile(r"\((contacts|consent)/")),
    ("validation and JSON (pydantic)", re.compile(r"\((pydantic|pydantic_core|json)/")),
    ("access log", re.compile(r"\((logging|pythonjsonlogger)/")),
    ("thread hand-overs (anyio)", re.compile(r"\((anyio|threading\.py|queue\.py|concurrent)")),
    ("FastAPI routing and dependencies", re.compile(r"\((fastapi/|contextlib\.py)")),
    (
        "contactlog's middleware and metrics",
        re.compile(r"\((api/(middleware|metrics)\.py|prometheus_client/)"),
    ),
    (
        "HTTP server and event loop",
        re.compile(r"\((uvicorn|starlette|asyncio|h11|httptools|uvloop)"),
    ),
]


def stages(raw: Path) -> tuple[Counter[str], int]:
    counted: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        # The first names the process; a sample with no Python frame was in uvloop's C code.
        frames = stack.split(";")[1:] or ["(uvloop)"]
        for frame in reversed(frames):
            stage = next((name for name, pattern in STAGES if pattern.search(frame)), None)
            if stage:
                counted[stage] += samples
                break
        else:
            counted["other"] += samples
    return counted, total


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "postgresql"
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = Path(os.environ.get("BENCH_PROFILE_DIR", "bench-profile"))
    out.mkdir(exist_ok=True)
    settings = Settings(
        jwt_secret="bench-secret-" + "b" * 40, password_time_cost=1, password_memory_kib=64
    )
    with tempfile.TemporaryDirectory() as folder:
        db, url, schema = data.fresh_database(backend, folder)
        try:
            school = data.seed_school(db, settings)
            data.bulk_messages(db, school, 10_000, backend)
            env = {
                **os.environ,
                "CONTACTLOG_DATABASE_URL": url,
                "CONTACTLOG_JWT_SECRET": settings.jwt_secret,
                "CONTACTLOG_SCHEDULER_IN_PROCESS": "false",
                "CONTACTLOG_DATA_DIR": folder,
            }
            server, base = serve([sys.executable, "-m", "api.cli", "serve"], env, "/healthz")
            try:
                raw = out / f"log-write-{backend}.txt"
                sampler = subprocess.Popen(
                    [
                        spy,
                        "record",
                        *("--pid", str(server.pid), "--gil", "--nonblocking", "-r", "500"),
                        *("-d", str(round(SECONDS)), "-f", "raw", "-o", str(raw)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                load = log_writes(base, server.pid, school.contact_id, log_body())
                sampler.wait()
            finally:
                stop(server)
        finally:
            db.dispose()
            data.drop(backend, schema)
    counted, total = stages(raw)
    print(f"log write on {backend}, profiled: {load.line()}")
    print(f"{total} samples of the thread holding the GIL; by stage of the request:")
    for name, count in counted.most_common():
        print(f"  {100 * count / total:5.1f}%  {name}")
    print(f"the samples, as collapsed stacks: {raw}")


if __name__ == "__main__":
    main()
