"""Database engine and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Table, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

# A session for reading: on SQLite it begins without the write lock (a plain BEGIN), so readers
# never queue behind writers; on PostgreSQL it is an ordinary session.
FOR_READING = "contactlog_for_reading"

# Named constraints, so that migrations can find them again (SQLite batch mode needs names).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and handed back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware instants only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **overrides: Any) -> Engine:
    if is_sqlite(url):
        path = url.split("///", 1)[1] if "///" in url else ""
        on_disk = bool(path) and path != ":memory:"
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None hands transaction control to the "begin" hook below.
        options: dict[str, Any] = {"pool_size": 20, "max_overflow": 10} if on_disk else {}
        options.update(overrides)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            **options,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    options = {
        # More connections than requests may hold at once (Settings.database_sessions), so the
        # scheduler and streamed exports always find one too.
        "pool_size": 20,
        "max_overflow": 10,
    }
    options.update(overrides)
    engine = create_engine(url, **options)
    if not options.get("pool_pre_ping"):
        _check_idle_connections(engine)
    return engine


# A connection back from the pool within this many seconds was working a moment ago; one idle
# for longer may have been cut (a database restart, a failover, a firewall's idle timeout).
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "contactlog_idle_since"


def _check_idle_connections(engine: Engine) -> None:
    """Before a pooled connection idle for a while is handed out, check it is still alive.

    Pinging every connection on every checkout (SQLAlchemy's `pool_pre_ping`) costs a round trip
    per request; under load connections go straight back to work, so only those that sat idle
    are pinged, as established connection pools do. A dead one is discarded, with every pooled
    connection opened before it, and the checkout retried on a fresh connection.
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise InvalidatePoolError(f"an idle connection was lost: {error}") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A writer takes the write lock up front; a deferred transaction that later tries to write
    # fails at once with SQLITE_BUSY when another writer got there first.
    if connection.get_execution_options().get(FOR_READING):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_consistently(session: Session) -> None:
    """Every statement from here to the end of the session's transaction sees one moment.

    A check of the change record reads the head, the chain, the seals and the records in
    separate statements; under PostgreSQL's default (READ COMMITTED) each statement sees what
    has committed by then, so rows committed in between look unrecorded, edited or cut, and the
    check cries wolf under ordinary load. REPEATABLE READ holds one snapshot for the whole
    transaction. SQLite's transactions already do (a reader in WAL mode keeps the snapshot of
    its first read; a writer holds the lock). Call it before the transaction's first statement:
    PostgreSQL refuses it afterwards, so a misplaced call fails loudly rather than silently.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


@contextmanager
def snapshot_of(session: Session) -> Iterator[Session]:
    """A read-only session on the same database as `session` whose every statement sees one
    moment (REPEATABLE READ on PostgreSQL; on SQLite a read transaction, which in WAL mode keeps
    the snapshot of its first read). For a check, a pack or an export asked for in a request
    whose own session has already read (who is asking, may they): it judges what had committed
    at one instant, never a blur of several, and never the request's own uncommitted writes."""
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    if bind.dialect.name == "postgresql":
        bind = bind.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    else:
        bind = bind.execution_options(**{FOR_READING: True})
    with Session(bind, expire_on_commit=False) as moment:
        try:
            yield moment
        finally:
            moment.rollback()


class Database:
    """One engine and the sessions opened on it; requests and jobs each get their own session."""

    def __init__(self, url: str, **engine_overrides: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_overrides)
        self._read_engine = self.engine.execution_options(**{FOR_READING: True})

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    def session(self, *, for_reading: bool = False) -> Session:
        """A session; `for_reading` ones do not take SQLite's write lock as they begin (a write
        in one may then fail as busy), and are not a snapshot: see `snapshot_of` for that."""
        return Session(self._read_engine if for_reading else self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, for_reading: bool = False) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back if it raises."""
        with self.session(for_reading=for_reading) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table: the hot paths read and write plain rows through it."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
