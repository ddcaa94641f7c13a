"""Browser tests' ground: the app served for real (uvicorn on a free local port), and Debian's
Chromium driven by Playwright, with axe-core checking each page. Chromium is required in CI;
elsewhere, without it, the browser tests are skipped with a loud warning."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.support.ground import IN_CI, PASSWORD
from tests.support.mail import free_port

CHROMIUM = os.environ.get("CONTACTLOG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The test app served over HTTP, as a browser reaches it."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.025)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


# Per module, not per session: Playwright's synchronous API keeps an event loop running in
# the thread while it is open, and tests elsewhere start event loops of their own.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        problem = f"{CHROMIUM} not found (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"Chromium is required in CI: {problem}")
        pytest.skip(f"Browser tests SKIPPED: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browse(chromium, live_server):  # type: ignore[no-untyped-def]
    """A new browser context per person (its own cookies), phone-sized unless asked."""
    contexts = []

    def open_as(*, phone: bool = False) -> Any:
        context = chromium.new_context(
            base_url=live_server, viewport=PHONE if phone else {"width": 1280, "height": 900}
        )
        contexts.append(context)
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


def serious_violations(page: Any) -> list[str]:
    """What axe-core finds on the page that is serious or critical (WCAG 2.2 AA rules)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in found.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


# Every checked page is saved as a screenshot, for a person to look at.
SHOTS = Path(
    os.environ.get("CONTACTLOG_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "contactlog-screenshots"
)


def sign_in(page, email: str, code: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the page, as a person does, and land on home."""
    page.goto("/sign-in")
    assert serious_violations(page) == []
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if code is not None:
        page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def checked(page) -> None:  # type: ignore[no-untyped-def]
    """axe finds nothing serious on the page, and it is saved as a screenshot."""
    assert serious_violations(page) == [], page.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = page.url.split("//", 1)[1].split("/", 1)[1].split("?")[0]
    # A parent's or an invited person's one-time link is a secret: its file is named for the
    # page, not the token.
    secret = {"consent/": "consent_link", "account/password/": "invitation_link"}
    name = next((n for p, n in secret.items() if path.startswith(p)), path.replace("/", "_"))
    page.screenshot(
        path=SHOTS / f"{name or 'home'}-{page.viewport_size['width']}.png", full_page=True
    )
