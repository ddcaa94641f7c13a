"""Test ground: every test runs on SQLite and on PostgreSQL, on a freshly emptied schema.

Only the infrastructure lives here (databases, the app, a client, what a response must look
like); the people, pupils and contacts tests start from are built in tests/builders.py."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, SQLModel

import api.tables  # noqa: F401
from api.app import create_app
from api.schema import upgrade
from core import clock
from core.audit import GENESIS, AuditHead
from core.db import Database
from core.security import Passwords
from core.settings import Settings

POSTGRES_URL = os.environ.get(
    "CONTACTLOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery staple"
TEST_SECRET_KEY = "test-secret-key-for-stored-tokens-and-second-factor-secrets"
_postgres_skipped: list[str] = []


def _postgres_reachable() -> str | None:
    try:
        dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def test_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "development",
        "data_dir": data_dir,
        "jwt_secret": "test-signing-secret-" + "x" * 32,
        # The key outside the database (core/keys.py), known so that builders can seed secrets.
        "secret_key": TEST_SECRET_KEY,
        # Real argon2, at the lowest cost, so hundreds of accounts hash in seconds.
        "password_time_cost": 1,
        "password_memory_kib": 64,
        # Tests run each job themselves, as of the instant they choose.
        "scheduler_in_process": False,
        # Tests tamper with the record and check again at once.
        "verify_reuse_seconds": 0,
        # No scheduler runs beside the tests' app: they run each job themselves.
        "scheduler_stale_seconds": 0,
        # Clean messages are sampled for review only where a test sets a trust's policy.
        "review_sample_rate": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        problem = _postgres_reachable()
        if problem is not None:
            if IN_CI:
                pytest.fail(f"PostgreSQL is required in CI and is unreachable: {problem}")
            _postgres_skipped.append(problem)
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


@pytest.fixture(autouse=True)
def _the_test_day() -> None:
    """Fix the day `tests.mail.noon` counts from as this test starts, before its fixtures."""
    builders.start_test_day()


@pytest.fixture
def app(app_for_backend, db: Database):  # type: ignore[no-untyped-def]
    _empty_all_tables(db)
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


def count_rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def assert_problem(response, status: int, *, detail_contains: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    if detail_contains:
        assert detail_contains.lower() in body["detail"].lower(), body["detail"]
    return body


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    from tests.browser import browser_skipped

    if browser_skipped:
        line = "!" * 78
        terminalreporter.write_line(line, red=True, bold=True)
        terminalreporter.write_line(
            f"Browser tests were SKIPPED: {browser_skipped[0]}", red=True, bold=True
        )
        terminalreporter.write_line(line, red=True, bold=True)
    if _postgres_skipped:
        line = "!" * 78
        terminalreporter.write_line(line, red=True, bold=True)
        terminalreporter.write_line(
            f"PostgreSQL tests were SKIPPED: {_postgres_skipped[0]}", red=True, bold=True
        )
        terminalreporter.write_line(
            "Set CONTACTLOG_TEST_POSTGRES_URL or start PostgreSQL on 127.0.0.1:5432.", red=True
        )
        terminalreporter.write_line(line, red=True, bold=True)


# The people, pupils and devices most tests start from, and a real mail server (fixtures,
# used by name).
# The app served for real and Debian's Chromium, for the browser tests.
from tests import builders  # noqa: E402
from tests.browser import browse, chromium, live_server  # noqa: E402, F401
from tests.builders import make_world, school, snapshots, world  # noqa: E402, F401
from tests.mail import mail_server, mail_settings  # noqa: E402, F401
