"""Data for the benchmarks: a school through the real services, then bulk rows in big batches."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from rich.progress import Progress
from sqlalchemy import text

import api.tables  # noqa: F401
from api.schema import upgrade
from contacts.models import Contact, ContactPupil, Message, MessagePupil
from core.db import Database
from core.directory.models import (
    DeviceCreate,
    PupilCreate,
    Role,
    SchoolCreate,
    StaffCreate,
)
from core.directory.pupils import create_pupil
from core.directory.schools import create_school, create_trust, register_device
from core.directory.staff import create_staff
from core.identity.security import Passwords
from core.policy import deployment_policy
from core.principal import Principal
from core.record.audit import content_hash_of, link_hash_of
from core.record.models import AuditEvent, AuditHead
from core.settings import Settings

POSTGRES_URL = os.environ.get(
    "CONTACTLOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "benchmark password"
BATCH = 20_000
# A generated log looks like a school's: its entries spread evenly over six years up to an
# hour ago (a second apart at least), one in a hundred flagged, and the DSLs have reviewed every
# flagged entry but the last fortnight's. Where the entries fall matters to the figures: the
# dashboard's chart reads the last twelve weeks, and its review count reads the open queue.
LOG_ENDS = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
LOG_SPAN = timedelta(days=6 * 365)
QUEUE_SPAN = timedelta(days=14)


def message_at(i: int, count: int) -> datetime:
    """When the `i`th of `count` generated entries happened (the last, an hour ago)."""
    spacing = max(timedelta(seconds=1), LOG_SPAN / count)
    return LOG_ENDS - spacing * (count - 1 - i)


def fresh_database(kind: str, folder: str) -> tuple[Database, str, str | None]:
    """An empty, migrated database: a SQLite file, or a schema of its own on PostgreSQL."""
    if kind == "sqlite":
        url = f"sqlite:///{folder}/bench-{secrets.token_hex(3)}.db"
        db = Database(url)
        upgrade(db.engine)
        return db, url, None
    schema = f"contactlog_bench_{secrets.token_hex(3)}"
    admin = Database(POSTGRES_URL)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    db = Database(url)
    upgrade(db.engine)
    return db, url, schema


def drop(kind: str, schema: str | None) -> None:
    if kind == "postgresql" and schema:
        admin = Database(POSTGRES_URL)
        with admin.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@dataclass
class School:
    school_id: int
    teacher_id: int
    dsl_id: int
    pupil_id: int
    device_id: int
    contact_id: int


def seed_school(db: Database, settings: Settings) -> School:
    """One school, a teacher with an approved contact, a DSL, a pupil of 17, a device."""
    operator = Principal.command_line()
    passwords = Passwords(settings)
    at = datetime.now(UTC)
    with db.transaction() as session:
        trust = create_trust(session=session, actor=operator, at=at, name="Bench Trust")
        school = create_school(
            session=session,
            actor=operator,
            at=at,
            school_in=SchoolCreate(name="Bench"),
            trust_id=trust.id,
        )
        ids = {}
        for who, roles in (("teacher", [Role.staff]), ("dsl", [Role.staff, Role.dsl])):
            ids[who] = create_staff(
                session=session,
                actor=operator,
                at=at,
                staff_in=StaffCreate(
                    name=who,
                    email=f"{who}@bench.example.org",
                    roles=roles,
                    school_id=school.id,
                ),
                passwords=passwords,
                settings=settings,
                password=PASSWORD,
            ).id
        today = datetime.now(UTC).date()
        pupil = create_pupil(
            session=session,
            actor=operator,
            policy=deployment_policy(settings),
            at=at,
            pupil_in=PupilCreate(
                given_name="P",
                family_name="Q",
                school_reference="B1",
                school_id=school.id,
                date_of_birth=date(today.year - 17, 1, 1),
            ),
        )
        device = register_device(
            session=session,
            actor=operator,
            at=at,
            device_in=DeviceCreate(asset_tag="BENCH-1", description="bench", school_id=school.id),
        )
        contact = Contact(
            school_id=school.id,
            staff_id=ids["teacher"],
            platform="whatsapp",
            school_account="bench",
            purpose="bench",
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=300),
            state="approved",
            requested_at=datetime.now(UTC),
            decided_at=datetime.now(UTC),
            decided_by_id=ids["dsl"],
        )
        session.add(contact)
        session.flush()
        session.add(
            ContactPupil(contact_id=contact.id, pupil_id=pupil.id, born_on=pupil.date_of_birth)
        )
        assert school.id
        assert pupil.id
        assert device.id
        assert contact.id
        return School(school.id, ids["teacher"], ids["dsl"], pupil.id, device.id, contact.id)


def teacher_token(base: str) -> str:
    """A bearer token for the seeded teacher (who holds the contact), from a running server."""
    token: str = httpx.post(
        f"{base}/auth/token",
        data={"username": "teacher@bench.example.org", "password": PASSWORD},
    ).json()["access_token"]
    return token


def _batches(total: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, BATCH):
        yield start, min(start + BATCH, total)


def bulk_messages(db: Database, school: School, count: int, label: str) -> None:
    """`count` log entries on the school's contact, laid out as `message_at` says; every
    hundredth is flagged, and reviewed a day later unless it is in the last fortnight."""
    with Progress(transient=True) as progress:
        task = progress.add_task(f"{label}: {count:,} messages", total=count)
        for lo, hi in _batches(count):
            rows = []
            for i in range(lo, hi):
                at = message_at(i, count)
                flagged = i % 100 == 0
                reviewed = flagged and at < LOG_ENDS - QUEUE_SPAN
                rows.append(
                    {
                        "id": i + 1,
                        "school_id": school.school_id,
                        "contact_id": school.contact_id,
                        "staff_id": school.teacher_id,
                        "direction": "sent",
                        "occurred_at": at,
                        "logged_at": at,
                        "device_id": school.device_id,
                        "device_tag": "BENCH-1",
                        "summary": f"Fixture reminder {i}, kick-off at 10",
                        "verbatim": None,
                        "flags": "lexicon" if flagged else "",
                        "needs_review": flagged,
                        "reviewed_at": at + timedelta(days=1) if reviewed else None,
                        "sampled": False,
                    }
                )
            with db.engine.begin() as conn:
                conn.execute(Message.__table__.insert(), rows)  # type: ignore[attr-defined]
                conn.execute(
                    MessagePupil.__table__.insert(),  # type: ignore[attr-defined]
                    [
                        {
                            "message_id": r["id"],
                            "pupil_id": school.pupil_id,
                            "occurred_at": r["occurred_at"],
                        }
                        for r in rows
                    ],
                )
            progress.update(task, advance=hi - lo)
    _after_bulk(db, "message", "message_pupil")


def bulk_contacts(db: Database, school: School, count: int, due: int, label: str) -> None:
    """`count` approved contacts of which `due` ended before today (each with one pupil)."""
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    with Progress(transient=True) as progress:
        task = progress.add_task(f"{label}: {count:,} contacts", total=count)
        first = school.contact_id + 1
        for lo, hi in _batches(count):
            rows = [
                {
                    "id": first + i,
                    "school_id": school.school_id,
                    "staff_id": school.teacher_id,
                    "platform": "whatsapp",
                    "school_account": "bench",
                    "purpose": "bench",
                    "starts_on": today - timedelta(days=60),
                    "ends_on": today - timedelta(days=1)
                    if i < due
                    else today + timedelta(days=200),
                    "state": "approved",
                    "requested_at": now,
                    "decided_at": now,
                    "decided_by_id": school.dsl_id,
                }
                for i in range(lo, hi)
            ]
            with db.engine.begin() as conn:
                conn.execute(Contact.__table__.insert(), rows)  # type: ignore[attr-defined]
                links = [
                    {
                        "contact_id": r["id"],
                        "pupil_id": school.pupil_id,
                        "born_on": date(today.year - 17, 1, 1),
                    }
                    for r in rows
                    if r["ends_on"] < today
                ]
                if links:
                    conn.execute(ContactPupil.__table__.insert(), links)  # type: ignore[attr-defined]
            progress.update(task, advance=hi - lo)
    _after_bulk(db, "contact", "contact_pupil")


def bulk_chain(db: Database, count: int, label: str) -> None:
    """A genuine change record of `count` links, appended after whatever is there."""
    with db.session() as session:
        head = session.get(AuditHead, 1)
        assert head is not None
        seq, prev = head.seq, head.link_hash
    at = datetime(2021, 1, 1, tzinfo=UTC)
    with Progress(transient=True) as progress:
        task = progress.add_task(f"{label}: {count:,} links", total=count)
        for lo, hi in _batches(count):
            rows = []
            for i in range(lo, hi):
                seq += 1
                event = AuditEvent(
                    seq=seq,
                    at=at + timedelta(seconds=i),
                    actor_id=1,
                    school_id=1,
                    action="message.logged",
                    object_type="message",
                    object_id=i,
                    reason=None,
                    details='{"flags":[]}',
                    content_hash="",
                    prev_hash=prev,
                    link_hash="",
                )
                event.content_hash = content_hash_of(event)
                event.link_hash = link_hash_of(seq, prev, event.content_hash)
                prev = event.link_hash
                rows.append(event.model_dump())
            with db.engine.begin() as conn:
                conn.execute(AuditEvent.__table__.insert(), rows)  # type: ignore[attr-defined]
            progress.update(task, advance=hi - lo)
    with db.engine.begin() as conn:
        conn.execute(AuditHead.__table__.update().values(seq=seq, link_hash=prev))  # type: ignore[attr-defined]


def _after_bulk(db: Database, table: str, *linked: str) -> None:
    """Sequences, planner statistics and visibility as a live database would have them.

    Autovacuum would vacuum and analyse the tables in time (without statistics PostgreSQL plans
    joins blind; without the visibility map an index-only scan still reads the table), and a
    log that grew over years is not in the middle of writing out a 10 M-row load: measured
    straight after one, the first page of the review took 6.9 ms; minutes later, the load
    written out, 3.6–3.9 ms (a 10 k-row log: 3.4 ms).
    """
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("ANALYZE"))
            return
        latest = f"(SELECT max(id) FROM {table})"
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {latest})"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in (table, *linked):
            conn.execute(text(f"VACUUM (ANALYZE) {name}"))
        conn.execute(text("CHECKPOINT"))
