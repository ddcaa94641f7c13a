"""The ground every test stands on: the databases' addresses, the suite's settings and keys,
and what a response must look like (an RFC 9457 problem, rows counted)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from core.db import Database
from core.settings import Settings

POSTGRES_URL = os.environ.get(
    "CONTACTLOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery staple"
TEST_SECRET_KEY = "test-secret-key-for-stored-tokens-and-second-factor-secrets"


def postgres_unreachable() -> str | None:
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
        # No scheduler runs beside the tests' app: they run each job themselves.
        "scheduler_stale_seconds": 0,
        # Clean messages are sampled for review only where a test sets a trust's policy.
        "review_sample_rate": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def count_rows(db: Database, table: str, where: str = "TRUE") -> int:
    """Rows of `table` (`where`: a condition of the test's own, never a user's text)."""
    with db.engine.connect() as conn:
        found = conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"))
        return int(found.scalar_one())


def assert_problem(
    response: httpx.Response, status: int, *, detail_contains: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    if detail_contains:
        assert detail_contains.lower() in body["detail"].lower(), body["detail"]
    return body


test_settings.__test__ = False  # type: ignore[attr-defined]
