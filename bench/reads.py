"""P6 and P7: what a DSL reads, over HTTP from a running contactlog, on a big record against a
small one: the pupil's chronology (API page and web page) and the dashboard (`/summary` and the
web page). Time is the median of sequential requests; memory is the server's peak."""

from __future__ import annotations

import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import data
from bench.measure import serve, stop

REPEAT = 15
_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@dataclass(frozen=True)
class Reading:
    median_ms: dict[str, float]  # per path
    peak_mib: float  # the server's peak resident memory, after all the reads


def _peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _signed_in(base: str) -> tuple[httpx.Client, httpx.Client]:
    """The DSL twice: with a bearer token for the API, with a session cookie for the pages."""
    api = httpx.Client(base_url=base, timeout=120)
    token = api.post(
        "/auth/token", data={"username": "dsl@bench.example.org", "password": data.PASSWORD}
    ).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    pages = httpx.Client(base_url=base, timeout=120)
    shown = pages.get("/sign-in").text
    found = _FORM_TOKEN.search(shown)
    assert found, "the sign-in page has its form token"
    signed = pages.post(
        "/sign-in",
        data={"email": "dsl@bench.example.org", "password": data.PASSWORD, "form_token": found[1]},
    )
    assert signed.status_code < 400, signed.text
    return api, pages


def read_as_dsl(env: dict[str, str], api_paths: list[str], page_paths: list[str]) -> Reading:
    """Serve contactlog on the prepared database and time each path as the school's DSL.

    The bench's DSL signs in with a password alone (CONTACTLOG_MFA_REQUIRED_ROLES=[]): the
    second factor is checked at sign-in, which is not what these figures measure.
    """
    process, base = serve(
        [sys.executable, "-m", "api.cli", "serve"],
        {**env, "CONTACTLOG_MFA_REQUIRED_ROLES": "[]"},
        "/healthz",
    )
    try:
        api, pages = _signed_in(base)
        try:
            times = {}
            for client, paths in ((api, api_paths), (pages, page_paths)):
                for path in paths:
                    samples = []
                    for attempt in range(REPEAT + 2):
                        started = time.perf_counter()
                        response = client.get(path)
                        elapsed = time.perf_counter() - started
                        assert response.status_code == 200, (path, response.text[:300])
                        if attempt >= 2:  # the first two warm the caches
                            samples.append(elapsed)
                    times[path] = statistics.median(samples) * 1000
        finally:
            api.close()
            pages.close()
        return Reading(times, _peak_mib(process.pid))
    finally:
        stop(process)
