"""What every benchmark shares: the sizes and figures asked for, serving an app in a process of
its own, timing, and printing a figure."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable

import httpx

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
# BENCH_ONLY=P1,P5 runs some figures; BENCH_BACKENDS=postgresql runs on one database.
FIGURES = "S1,P1,P2,P3,P4,P5,P6,P7,P8,P9"
ONLY = {f.strip().upper() for f in os.environ.get("BENCH_ONLY", FIGURES).split(",")}
BACKENDS = [b.strip() for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")]
RESULTS: list[tuple[str, str, str, str, str]] = []


def n(count: int) -> int:
    return max(1000, int(count * SCALE))


def report(figure: str, backend: str, ratio: float, target: str, detail: str) -> None:
    RESULTS.append((figure, backend, f"{ratio:.2f}", target, detail))
    print(f"  {figure:<40} {backend:<10} {ratio:>7.2f}  target {target:<7} {detail}", flush=True)


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


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best
