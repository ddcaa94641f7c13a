"""`contactlog serve` for real, in a process of its own on a free port: for the staff client
and every test that needs the server across a real socket."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.ground import TEST_SECRET_KEY
from tests.support.mail import free_port


class Server:
    """`contactlog serve` (or another serving `command`) in a subprocess, stoppable and
    restartable on the same port; `env` adds to its settings."""

    def __init__(
        self,
        database_url: str,
        data_dir: str,
        command: tuple[str, ...] = ("serve",),
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CONTACTLOG_DATABASE_URL": database_url,
            "CONTACTLOG_DATA_DIR": data_dir,
            "CONTACTLOG_JWT_SECRET": "client-test-secret-" + "z" * 32,
            # The suite's key outside the database, with which builders seed second factors.
            "CONTACTLOG_SECRET_KEY": TEST_SECRET_KEY,
            "CONTACTLOG_SCHEDULER_IN_PROCESS": "false",
            "CONTACTLOG_PASSWORD_TIME_COST": "1",
            "CONTACTLOG_PASSWORD_MEMORY_KIB": "64",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *self.command, "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def cli(self, *args: str) -> str:
        """A `contactlog` command against this server's own settings: its output."""
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", *args], env=self.env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def server(app: object, database_url: str, tmp_path: Path) -> Iterator[Server]:
    # `app`: every table emptied before the server starts
    running = Server(database_url, str(tmp_path / "server"))
    running.start()
    yield running
    running.stop()


# The command a teacher types, from this environment's install.
CONTACTLOG = Path(sys.executable).parent / "contactlog"


@dataclass
class BrowserLogin:
    """`contactlog login --browser` running in a terminal: the page and code it shows."""

    terminal: subprocess.Popen[str]
    page: str
    code: str
    env: dict[str, str]


def login_through_the_browser(server: str, client_dir: Path) -> BrowserLogin:
    """The staff client asked to sign in through the browser, as a teacher types it."""
    env = {**os.environ, "CONTACTLOG_CLIENT_DIR": str(client_dir), "COLUMNS": "200"}
    terminal = subprocess.Popen(
        [str(CONTACTLOG), "login", "--browser", "--server", server],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert terminal.stderr is not None
    said = terminal.stderr.readline()
    found = re.search(r"Open (\S+) and type the code ([A-Z]{4}-[A-Z]{4})", said)
    assert found, said
    return BrowserLogin(terminal, found.group(1), found.group(2), env)
