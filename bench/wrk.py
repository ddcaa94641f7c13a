"""Load from wrk (a C load generator), with the CPU each side spent per request, so a figure can
show whether it measured the server or the generator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
# Two threads: wrk's event loops are cheap enough that one core's share is plenty (the
# ceiling it prints says so), and the server and the database keep the rest of the machine.
THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
TICKS = os.sysconf("SC_CLK_TCK")

# Where the endpoint cares, every request is distinct: a fresh Idempotency-Key per request, made
# from the thread's number and a counter, so no write is answered from a stored reply. Elsewhere
# wrk sends one prepared request over and over, its cheapest way.
_DISTINCT = """
function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = "%(run)s-" .. thread_number .. "-" .. counter
  return wrk.format()
end
"""
# Requests prepared beforehand, one a line (`header-value<TAB>body`), each sent once: for a
# signed delivery, whose signature wrk cannot make. Each thread takes every THREADS-th line.
_PREPARED = """
local prepared = {}
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for line in io.lines("%(file)s") do
    local tab = string.find(line, "\t", 1, true)
    prepared[#prepared + 1] = {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)}
  end
end
local sent = 0
function request()
  local i = (sent * %(threads)d + thread_number - 1) %% #prepared + 1
  sent = sent + 1
  wrk.headers["%(header)s"] = prepared[i][1]
  return wrk.format(nil, nil, nil, prepared[i][2])
end
"""
_SCRIPT = """
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  wrk.method = "%(method)s"
  wrk.body = %(body)s
  wrk.headers["Content-Type"] = "application/json"
  %(auth)s
end
%(request)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%f, "p50_ms": %%f, "p95_ms": %%f, "p99_ms": %%f, ' ..
    '"errors": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    requests: int
    generator_cpu_us: float  # wrk's CPU per request
    server_cpu_us: float  # the server's processes' CPU per request
    database_cpu_us: float  # PostgreSQL's processes' CPU per request (0 on SQLite)

    @property
    def generator_ceiling(self) -> float:
        """Requests per second wrk could send with one core to itself."""
        return 1e6 / self.generator_cpu_us if self.generator_cpu_us else float("inf")

    def line(self) -> str:
        return (
            f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.1f} / p95 {self.p95_ms:.1f} / p99 "
            f"{self.p99_ms:.1f} ms, errors {self.errors}; CPU per request: server "
            f"{self.server_cpu_us:.0f} µs, database {self.database_cpu_us:.0f} µs, wrk "
            f"{self.generator_cpu_us:.0f} µs"
        )


def require_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing Debian's package `wrk`", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        sys.exit("The benchmarks need wrk: `apt-get install wrk` (Debian), then run again.")
    return found


def _ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])


def _family(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's workers are children of its supervisor)."""
    found = [pid]
    for member in found:
        for task in Path(f"/proc/{member}/task").glob("*"):
            try:
                found.extend(int(c) for c in (task / "children").read_text().split())
            except FileNotFoundError:
                continue
    return found


def _postgres() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return pids


def _cpu(pids: list[int]) -> dict[int, int]:
    return {pid: _ticks(pid) for pid in pids}


def _spent(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(after[p] - before.get(p, 0) for p in after) / TICKS


def run(
    url: str,
    path: str,
    *,
    seconds: float,
    server_pid: int,
    method: str = "GET",
    body: str = "",
    token: str = "",
    distinct: bool = False,
    clients: int = CLIENTS,
    prepared: tuple[Path, str] | None = None,
) -> Load:
    """Load `url + path` for `seconds` from wrk; the latency and the CPU each side spent.
    `prepared` is a file of requests made beforehand and the header each line's first field
    goes in (a signature over its body)."""
    wrk = require_wrk()
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    run_id = os.urandom(6).hex()
    script = _SCRIPT % {
        "request": _DISTINCT % {"run": run_id} if distinct else "",
        "method": method,
        "body": json.dumps(body) if body else "nil",
        "auth": auth,
    }
    if prepared is not None:
        lines, header = prepared
        script = script.replace("function init(args)", "function init_unused(args)", 1)
        script += _PREPARED % {"file": lines, "threads": THREADS, "header": header}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        server_before = _cpu(_family(server_pid))
        database_before = _cpu(_postgres())
        process = subprocess.Popen(
            [
                wrk,
                f"-t{THREADS}",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                file.name,
                url + path,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        server = _spent(server_before, _cpu(_family(server_pid)))
        database = _spent(database_before, _cpu(_postgres()))
    finally:
        os.unlink(file.name)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {out}")
    figures = json.loads(out.strip().splitlines()[-1])
    requests = max(1, figures["requests"])
    return Load(
        rps=figures["requests"] / figures["seconds"],
        p50_ms=figures["p50_ms"],
        p95_ms=figures["p95_ms"],
        p99_ms=figures["p99_ms"],
        errors=figures["errors"],
        requests=figures["requests"],
        generator_cpu_us=(usage.ru_utime + usage.ru_stime) / requests * 1e6,
        server_cpu_us=server / requests * 1e6,
        database_cpu_us=database / requests * 1e6,
    )
