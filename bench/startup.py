"""S1, start-up: how long `contactlog --help` and a staff-client command take, and how long
`contactlog serve` takes to be ready, each beside a bare `python -c pass` measured in the same
run (the interpreter's own start, which nothing run by it can beat)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.measure import free_port, report, stop

RUNS = 7


def _best(argv: list[str], env: dict[str, str]) -> float:
    """The fastest of RUNS runs, in seconds: the machine's noise only ever adds."""
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def _ready_after(env: dict[str, str]) -> float:
    """Seconds from starting `contactlog serve` to its first 200 from /readyz."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 60:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError("contactlog serve was not ready within 60 s")
    finally:
        stop(process)


def s1_startup() -> None:
    folder = Path(tempfile.mkdtemp(prefix="contactlog-startup-"))
    # Bytecode is written and reused, as an installed package has it (pip compiles a wheel's
    # modules; the image does too): a machine that sets PYTHONDONTWRITEBYTECODE would otherwise
    # compile every module of an editable install on every start, and measure the compiler.
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "CONTACTLOG_DATA_DIR": str(folder),
        "CONTACTLOG_CLIENT_DIR": str(folder / "client"),
    }
    subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"], env=env, check=True, capture_output=True
    )
    bare = _best([sys.executable, "-c", "pass"], env)
    print(f"  (a bare `python -c pass` takes {bare * 1000:.0f} ms on this machine)")
    command = [sys.executable, "-m", "api.cli"]
    for label, args, target in (
        ("S1 contactlog --help", ["--help"], 0.5),
        ("S1 contactlog contacts (staff client)", ["contacts"], 0.5),
    ):
        took = _best([*command, *args], env)
        report(
            f"{label} / {target} s",
            "-",
            took / target,
            "<= 1.00",
            f"{took * 1000:.0f} ms, {took / bare:.1f} x a bare interpreter",
        )
    ready = min(_ready_after(env) for _ in range(RUNS))
    report(
        "S1 contactlog serve ready / 3 s",
        "sqlite",
        ready / 3,
        "<= 1.00",
        f"{ready:.2f} s from start to /readyz, {ready / bare:.0f} x a bare interpreter",
    )
