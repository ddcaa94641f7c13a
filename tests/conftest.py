"""Test ground: every test runs on SQLite and on PostgreSQL, on a freshly emptied schema.

Only the infrastructure lives here (databases, the app, a client, what a response must look
like); the people, pupils and contacts tests start from are built in tests/builders.py."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel

import api.tables  # noqa: F401
from api.app import create_app
from api.schema import upgrade
from core import clock
from core.db import Database
from core.identity.security import Passwords
from core.policy import PolicyBook
from core.record import signer
from core.record.models import GENESIS, AuditHead, LogCursor
from core.settings import Settings
from tests.support import builders
from tests.support.ground import IN_CI, POSTGRES_URL, postgres_unreachable, test_settings

# The fixtures tests use by name, from the modules every test shares (tests/support/).
pytest_plugins = [
    "tests.support.builders",  # the trust's people, the school's pupils, scenes kept per day
    "tests.support.mail",  # a real SMTP server (aiosmtpd)
    "tests.support.browser",  # the app served for real and Debian's Chromium
    "tests.support.servers",  # `contactlog serve` in a process of its own
    "tests.support.matrix",  # the authorisation matrix's scene of one of each record
]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        problem = postgres_unreachable()
        if problem is not None:
            if IN_CI:
                pytest.fail(f"PostgreSQL is required in CI and is unreachable: {problem}")
            pytest.skip(f"PostgreSQL unreachable ({problem}); PostgreSQL tests SKIPPED")
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'contactlog.db'}"
        return
    # A schema of our own per run: parallel runs and leftovers never meet.
    schema = f"contactlog_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = Database(POSTGRES_URL)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return test_settings(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def passwords(settings: Settings) -> Passwords:
    return Passwords(settings)


@pytest.fixture(scope="session")
def app_for_backend(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


def _empty_all_tables(db: Database) -> None:
    with db.engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
        # The change record starts afresh, as after `contactlog migrate` on a new database.
        conn.execute(AuditHead.__table__.insert().values(id=1, seq=0, link_hash=GENESIS))
        conn.execute(LogCursor.__table__.insert().values(id=1, seq=0))


@pytest.fixture(autouse=True)
def _the_test_day() -> None:
    """Fix the day `tests.support.mail.noon` counts from as this test starts, before fixtures."""
    builders.start_test_day()


@pytest.fixture
def app(app_for_backend, db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    _empty_all_tables(db)
    # The signer's memory of what it signed goes with the database it signed.
    signer.Memory(settings.checkpoint_key_path).path.unlink(missing_ok=True)
    # So are the policies it read: a trust's choices go with the trust's row.
    app_for_backend.state.policies = PolicyBook(
        settings, keep_seconds=settings.policy_cache_seconds
    )
    clock.set_clock(None)
    yield app_for_backend
    clock.set_clock(None)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session for looking at what the API wrote, as a user's next request would see it."""
    with db.session() as s:
        yield s


def _skipped_because(terminalreporter, marker: str) -> str | None:  # type: ignore[no-untyped-def]
    """The first skip reason holding `marker`, from the reports themselves: under pytest-xdist
    the skips happen in the workers, and only their reports reach this process."""
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        if marker in reason:
            return reason.removeprefix("Skipped: ")
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    line = "!" * 78
    for kind in ("Browser", "Monitor", "Single sign-on"):
        skipped = _skipped_because(terminalreporter, f"{kind} tests SKIPPED")
        if skipped:
            terminalreporter.write_line(line, red=True, bold=True)
            terminalreporter.write_line(
                skipped.replace("tests SKIPPED", "tests were SKIPPED"), red=True, bold=True
            )
            terminalreporter.write_line(line, red=True, bold=True)
    postgres = _skipped_because(terminalreporter, "PostgreSQL tests SKIPPED")
    if postgres:
        terminalreporter.write_line(line, red=True, bold=True)
        why = postgres.removeprefix("PostgreSQL ").removesuffix("; PostgreSQL tests SKIPPED")
        terminalreporter.write_line(f"PostgreSQL tests were SKIPPED: {why}", red=True, bold=True)
        terminalreporter.write_line(
            "Set CONTACTLOG_TEST_POSTGRES_URL or start PostgreSQL on 127.0.0.1:5432.", red=True
        )
        terminalreporter.write_line(line, red=True, bold=True)
