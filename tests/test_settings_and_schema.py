"""Settings refuse unsafe production values; migrations build exactly the schema the code uses."""

from __future__ import annotations

import contextlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import SQLModel

from api.schema import current_revision, declared_by_the_models, head_revision, upgrade
from core.errors import InvalidInput
from core.pagination import decode_cursor, decode_int_cursor, encode_cursor
from core.settings import Settings


def test_production_refuses_a_missing_or_default_secret(monkeypatch):
    monkeypatch.setenv("CONTACTLOG_ENVIRONMENT", "production")
    monkeypatch.setenv("CONTACTLOG_DATABASE_URL", "postgresql+psycopg://db/contactlog")
    for secret in ("", "changethis", "short-secret", "a" * 64, "ab" * 32):
        monkeypatch.setenv("CONTACTLOG_JWT_SECRET", secret)
        with pytest.raises(ValueError, match="JWT_SECRET"):
            Settings()
    monkeypatch.setenv("CONTACTLOG_JWT_SECRET", "p9Xv2LqT7mZ4rW8sK1nB6cJ3hF5dG0yA")
    monkeypatch.setenv("CONTACTLOG_SECRET_KEY", "w3Rt8YuI1oP5aS9dF2gH6jK0lZ4xC7vB")
    assert Settings().environment == "production"


def test_production_needs_its_own_key_outside_the_database(monkeypatch):
    monkeypatch.setenv("CONTACTLOG_ENVIRONMENT", "production")
    monkeypatch.setenv("CONTACTLOG_DATABASE_URL", "postgresql+psycopg://db/contactlog")
    monkeypatch.setenv("CONTACTLOG_JWT_SECRET", "p9Xv2LqT7mZ4rW8sK1nB6cJ3hF5dG0yA")
    for key in ("", "changethis", "a" * 40, "p9Xv2LqT7mZ4rW8sK1nB6cJ3hF5dG0yA"):
        monkeypatch.setenv("CONTACTLOG_SECRET_KEY", key)
        with pytest.raises(ValueError, match="SECRET_KEY"):
            Settings()


def test_production_needs_a_database_url(monkeypatch):
    monkeypatch.setenv("CONTACTLOG_ENVIRONMENT", "production")
    monkeypatch.setenv("CONTACTLOG_JWT_SECRET", "p9Xv2LqT7mZ4rW8sK1nB6cJ3hF5dG0yA")
    monkeypatch.delenv("CONTACTLOG_DATABASE_URL", raising=False)
    with pytest.raises(ValueError, match="DATABASE_URL"):
        Settings()


def test_development_keeps_one_generated_secret_across_restarts(tmp_path):
    first = Settings(data_dir=tmp_path, jwt_secret="").signing_secret
    second = Settings(data_dir=tmp_path, jwt_secret="").signing_secret
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_defaults_and_unknown_zone(monkeypatch):
    settings = Settings()
    assert settings.token_minutes == 30
    assert settings.consent_age == 16
    assert settings.school_timezone == "Europe/London"
    assert settings.resolved_database_url.startswith("sqlite:///")
    monkeypatch.setenv("CONTACTLOG_SCHOOL_TIMEZONE", "Europe/Atlantis")
    with pytest.raises(ValueError, match="time zone"):
        Settings()


def test_migrations_build_exactly_the_models(db):
    with db.engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        context = MigrationContext.configure(
            connection, opts={"include_name": declared_by_the_models}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrating_twice_changes_nothing(db):
    upgrade(db.engine)
    with db.engine.connect() as connection:
        assert current_revision(connection) == head_revision()


@given(st.integers(min_value=0, max_value=2**62))
def test_cursors_round_trip(key):
    assert decode_int_cursor(encode_cursor(key)) == key


@given(st.text(max_size=60))
def test_any_cursor_text_is_either_understood_or_refused_cleanly(text):
    with contextlib.suppress(InvalidInput):
        decode_cursor(text)


def test_replicas_starting_together_share_one_whole_development_key(tmp_path):
    """The key is never seen empty or half-written, and all who start at once agree on it."""
    import threading

    keys: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        keys.append(Settings(data_dir=tmp_path, jwt_secret="").signing_secret)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert len(keys[0]) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["jwt-secret"]  # no leftovers
