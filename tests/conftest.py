"""Test ground: every test runs on SQLite and on PostgreSQL, on a freshly emptied schema."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
from core.directory.models import Role, SchoolCreate, StaffCreate
from core.directory.schools import create_school, create_trust
from core.directory.staff import create_staff
from core.principal import Principal
from core.security import Passwords, TokenService
from core.settings import Settings

POSTGRES_URL = os.environ.get(
    "CONTACTLOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery staple"
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


@dataclass
class World:
    """A trust with two schools and people in every role, plus a token for each of them."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    school_a: int = 0
    school_b: int = 0
    trust: int = 0

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}


# who: (school, roles, headteacher, manager)
PEOPLE: dict[str, tuple[str, list[Role], bool, str | None]] = {
    "head": ("a", [Role.staff, Role.approver], True, None),
    "manager": ("a", [Role.staff, Role.approver], False, "head"),
    "other_manager": ("a", [Role.staff, Role.approver], False, "head"),
    "owner": ("a", [Role.staff], False, "manager"),
    "other_staff": ("a", [Role.staff], False, "other_manager"),
    "dsl": ("a", [Role.staff, Role.dsl], False, "head"),
    "admin": ("a", [Role.admin], False, None),
    "trust_admin": ("a", [Role.trust_admin], False, None),
    "trust_dsl": ("a", [Role.trust_dsl], False, None),
    "other_school": ("b", [Role.staff, Role.approver, Role.dsl, Role.admin], True, None),
    "other_school_staff": ("b", [Role.staff], False, "other_school"),
}


@pytest.fixture
def make_world(app, db: Database, settings: Settings, passwords: Passwords) -> Callable[[], World]:  # type: ignore[no-untyped-def]
    def build() -> World:
        world = World()
        operator = Principal.command_line()
        tokens = TokenService(settings)
        at = clock.now()
        with db.transaction() as session:
            trust = create_trust(session=session, actor=operator, at=at, name="Test Trust")
            assert trust.id is not None
            world.trust = trust.id
            a, b = (
                create_school(
                    session=session,
                    actor=operator,
                    at=at,
                    school_in=SchoolCreate(name=name),
                    trust_id=trust.id,
                )
                for name in ("A", "B")
            )
            assert a.id is not None and b.id is not None
            world.school_a, world.school_b = a.id, b.id
            for who, (school, roles, head, manager) in PEOPLE.items():
                created = create_staff(
                    session=session,
                    actor=operator,
                    at=at,
                    staff_in=StaffCreate(
                        name=who.replace("_", " ").title(),
                        email=f"{who}@{school}.example.org",
                        school_id=a.id if school == "a" else b.id,
                        roles=roles,
                        is_headteacher=head,
                        line_manager_id=world.ids[manager] if manager else None,
                    ),
                    passwords=passwords,
                    settings=settings,
                    password=PASSWORD,
                )
                world.ids[who] = created.id
                world.tokens[who] = tokens.issue(staff_id=created.id, generation=0, at=at)[0]
        return world

    return build


@pytest.fixture
def world(make_world: Callable[[], World]) -> World:
    return make_world()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session for looking at what the API wrote, as a user's next request would see it."""
    with db.session() as s:
        yield s


def count_rows(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def enrol(db: Database, staff_id: int) -> str:
    """Give an account a confirmed second factor with a known secret; the secret, for codes."""
    import pyotp

    from core import mfa
    from core.directory.models import Staff

    secret = pyotp.random_base32()
    with db.transaction() as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        mfa.seed(session, staff=staff, secret=secret, at=clock.now())
    return secret


def invitation_token(db: Database, email: str) -> str:
    """The token in the newest invitation or reset link emailed to `email`, as its owner reads
    it in the email (the database holds only its hash)."""
    with db.engine.connect() as conn:
        body = conn.execute(
            text("SELECT body FROM outbox_email WHERE to_address = :e ORDER BY id DESC"),
            {"e": email},
        ).first()
    assert body is not None, f"no email to {email}"
    return str(body[0]).split("/account/password/", 1)[1].split()[0]


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


# ---------------------------------------------------------------- contacts

TODAY = date.today()


def dob(years: int, extra_days: int = 30) -> str:
    """A date of birth making a pupil `years` old today (plus a few days)."""
    born = date(TODAY.year - years, TODAY.month, min(TODAY.day, 28)) - timedelta(days=extra_days)
    return born.isoformat()


@pytest.fixture
def school(client, world):  # type: ignore[no-untyped-def]
    """Two pupils (14 and 17), a guardian each, a registered device."""
    admin = world.auth("admin")
    young = client.post(
        "/pupils",
        json={
            "given_name": "Ava",
            "family_name": "T",
            "date_of_birth": dob(14),
            "school_reference": "Y1",
        },
        headers=admin,
    ).json()
    older = client.post(
        "/pupils",
        json={
            "given_name": "Noah",
            "family_name": "F",
            "date_of_birth": dob(17),
            "school_reference": "O1",
        },
        headers=admin,
    ).json()
    guardian = client.post(
        f"/pupils/{young['id']}/guardians",
        json={"name": "Claire T", "relationship": "mother", "has_parental_responsibility": True},
        headers=admin,
    ).json()
    no_pr = client.post(
        f"/pupils/{young['id']}/guardians",
        json={
            "name": "Gran T",
            "relationship": "grandmother",
            "has_parental_responsibility": False,
        },
        headers=admin,
    ).json()
    device = client.post(
        "/devices", json={"asset_tag": "PE-IPAD", "description": "PE iPad"}, headers=admin
    ).json()
    return {
        "young": young["id"],
        "older": older["id"],
        "guardian": guardian["id"],
        "no_pr": no_pr["id"],
        "device": device["id"],
    }


def request_body(school, **changes):  # type: ignore[no-untyped-def]
    body = {
        "pupil_ids": [school["young"], school["older"]],
        "platform": "whatsapp",
        "school_account": "Riverside U15 football (school phone)",
        "purpose": "Fixture times and kit reminders for the U15 team",
        "device_ids": [school["device"]],
        "starts_on": (TODAY - timedelta(days=1)).isoformat(),
        "ends_on": (TODAY + timedelta(days=60)).isoformat(),
    }
    body.update(changes)
    return body


def message(**changes):  # type: ignore[no-untyped-def]
    body = {
        "direction": "sent",
        "occurred_at": datetime.now(UTC).isoformat(),
        "device_tag": "PE-IPAD",
        "summary": "Reminded the team of Saturday's kick-off time",
    }
    body.update(changes)
    return body
