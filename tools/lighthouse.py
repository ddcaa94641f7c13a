"""Lighthouse's accessibility and best-practices audits of every page each role uses, on a fresh
demo: `make lighthouse`. It starts contactlog on the demo data in a temporary directory, signs in
as the teacher, the DSL, the admin and the line manager, runs Lighthouse (from the npm registry,
installed under .lighthouse/) on Debian's Chromium for each of their pages as a phone, and
prints each page's two scores and any audit that did not pass. Exit status 1 if any page scores
under 100."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyotp

from api.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET

HERE = Path(__file__).resolve().parent.parent
LIGHTHOUSE = HERE / ".lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
# Each role's pages, as the demo holds them (contact 1 is Sam Okafor's team WhatsApp, pupil 1
# on it; staff 4 is Sam).
PAGES: dict[str | None, list[str]] = {
    None: ["/sign-in", "/sign-in/forgotten"],
    "sam.okafor@riverside.example.org": [
        "/",
        "/app/contacts",
        "/app/contacts?past=yes",
        "/app/contacts/new",
        "/app/contacts/1",
        "/app/contacts/1/log",
        "/app/incidents/new",
    ],
    "mark.patel@riverside.example.org": ["/app/approvals"],
    "dana.lewis@riverside.example.org": [
        "/app/dashboard",
        "/app/review",
        "/app/log",
        "/app/log?text=kit",
        "/app/incidents",
        "/app/deletions",
        "/app/refusals",
        "/app/pupils/1/chronology",
        "/app/staff/4/chronology",
        "/app/records",
        "/app/legal-holds",
        "/app/subject-access",
        "/app/retention",
        "/app/change-record",
    ],
    "alex.morgan@riverside.example.org": [
        "/app/pupils",
        "/app/pupils/1",
        "/app/pupils/import",
        "/app/staff",
        "/app/staff/4",
        "/app/devices",
        "/app/outbox",
        "/app/pending-changes",
    ],
}


def _install() -> None:
    if not LIGHTHOUSE.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(LIGHTHOUSE.parents[2]),
                "lighthouse@12",
                "--no-audit",
                "--no-fund",
                "--silent",
            ],
            check=True,
        )


def _serve(data: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CONTACTLOG_DATA_DIR": str(data)}
    cli = [sys.executable, "-m", "api.cli"]  # this interpreter's contactlog
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "demo"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(PORT)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if httpx.get(f"{BASE}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("contactlog did not start")


def _cookie(email: str | None) -> str:
    """A browser session's cookie, signed in through the sign-in page."""
    if email is None:
        return ""
    client = httpx.Client(base_url=BASE)
    shown = client.get("/sign-in").text
    token = re.search(r'name="form_token" value="([^"]+)"', shown)
    assert token
    fields = {"email": email, "password": DEMO_PASSWORD, "form_token": token.group(1)}
    if email != "sam.okafor@riverside.example.org":  # the demo's one teacher without a code
        fields["code"] = pyotp.TOTP(DEMO_TOTP_SECRET).now()
    client.post("/sign-in", data=fields)
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _audit(path: str, cookie: str, out: Path) -> tuple[dict[str, int], list[str]]:
    headers = json.dumps({"Cookie": cookie}) if cookie else "{}"
    subprocess.run(
        [
            str(LIGHTHOUSE),
            BASE + path,
            "--quiet",
            "--only-categories=accessibility,best-practices",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-path={CHROMIUM}",
            f"--chrome-flags={FLAGS}",
            "--form-factor=mobile",
            "--extra-headers",
            headers,
        ],
        check=True,
    )
    found = json.loads(out.read_text())
    scores = {k: round(v["score"] * 100) for k, v in found["categories"].items()}
    failed = [
        name
        for name, audit in found["audits"].items()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") in ("binary", "numeric")
    ]
    return scores, failed


def main() -> int:
    _install()
    below = 0
    with tempfile.TemporaryDirectory() as scratch:
        server = _serve(Path(scratch) / "data")
        try:
            print(f"{'page':<34} {'as':<12} accessibility  best-practices  not passed")
            for email, paths in PAGES.items():
                cookie = _cookie(email)
                for path in paths:
                    scores, failed = _audit(path, cookie, Path(scratch) / "report.json")
                    who = email.split(".")[0] if email else "anyone"
                    print(
                        f"{path:<34} {who:<12} {scores['accessibility']:>13}  "
                        f"{scores['best-practices']:>14}  {', '.join(failed) or '-'}"
                    )
                    below += min(scores.values()) < 100
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("every page scores 100" if not below else f"{below} page(s) below 100")
    return 1 if below else 0


if __name__ == "__main__":
    raise SystemExit(main())
