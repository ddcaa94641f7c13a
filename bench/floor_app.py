"""The durable-write floor: the least any logging API can do to store a log entry.

One `async def` endpoint takes the same JSON body as the log write and, in one transaction,
runs the same number of statements of the same kinds (reads of one row by primary key, then
inserts of the body), and commits before it answers. Nothing else: no authentication, no
rules, no ORM. On PostgreSQL it talks to the database with psycopg's async driver from a fixed
set of connections; on SQLite it uses one connection on the event loop itself, since SQLite
writes one transaction at a time anyway and a hop to a thread would only add cost.

Configured by the environment: BENCH_FLOOR_URL (a contactlog database URL), BENCH_FLOOR_READS
and BENCH_FLOOR_WRITES (how many of each the log write ran, counted by the bench).

BENCH_FLOOR_VIA=sqlalchemy-sync or sqlalchemy-async (PostgreSQL only) runs the same statements
through SQLAlchemy Core instead of the bare driver: in a plain `def` endpoint with a pooled
synchronous engine (the shape contactlog's write path has), or in an `async def` one with
SQLAlchemy's async engine on psycopg's async driver (the shape a move to async would have).
They are not baselines: they show what the stack costs before contactlog does anything.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import create_async_engine

URL = os.environ.get("BENCH_FLOOR_URL", "sqlite:///floor.db")
READS = int(os.environ.get("BENCH_FLOOR_READS", "3"))
WRITES = int(os.environ.get("BENCH_FLOOR_WRITES", "3"))
CONNECTIONS = 16  # as many as contactlog lets requests hold (CONTACTLOG_DATABASE_SESSIONS)

TABLES = (
    "CREATE TABLE IF NOT EXISTS floor_seed (id INTEGER PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS floor_entry (id {serial} PRIMARY KEY, logged_at TEXT NOT NULL, "
    "body TEXT NOT NULL)",
)


def _postgres_dsn(url: str) -> str:
    """contactlog's SQLAlchemy URL as a libpq one (the schema rides in `options`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class PostgresFloor:
    def __init__(self, url: str) -> None:
        self.dsn = _postgres_dsn(url)
        self.idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open_tables(self) -> None:
        setup = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        for statement in TABLES:
            await setup.execute(statement.format(serial="BIGSERIAL"))  # type: ignore[arg-type]
        await setup.execute("INSERT INTO floor_seed VALUES (1, 'seed') ON CONFLICT DO NOTHING")
        await setup.close()

    async def open(self) -> None:
        await self.open_tables()
        for _ in range(CONNECTIONS):
            self.idle.put_nowait(await psycopg.AsyncConnection.connect(self.dsn))

    async def store(self, body: str) -> int:
        connection = await self.idle.get()
        try:
            async with connection.transaction():
                for _ in range(READS):
                    read = await connection.execute(
                        "SELECT value FROM floor_seed WHERE id = %s", (1,)
                    )
                    await read.fetchone()
                entry = 0
                for _ in range(WRITES):
                    cursor = await connection.execute(
                        "INSERT INTO floor_entry (logged_at, body) VALUES (now()::text, %s) "
                        "RETURNING id",
                        (body,),
                    )
                    row = await cursor.fetchone()
                    if row and not entry:
                        entry = int(row[0])
            return entry
        finally:
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().close()


class SQLiteFloor:
    def __init__(self, url: str) -> None:
        self.path = url.split("///", 1)[1]

    async def open(self) -> None:
        # The same settings contactlog's engine gives every connection (core.db).
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            self.connection.execute(f"PRAGMA {pragma}")
        for statement in TABLES:
            self.connection.execute(statement.format(serial="INTEGER"))
        self.connection.execute("INSERT OR IGNORE INTO floor_seed VALUES (1, 'seed')")

    async def store(self, body: str) -> int:
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            for _ in range(READS):
                connection.execute("SELECT value FROM floor_seed WHERE id = ?", (1,)).fetchone()
            entry = 0
            for _ in range(WRITES):
                cursor = connection.execute(
                    "INSERT INTO floor_entry (logged_at, body) VALUES (datetime('now'), ?)", (body,)
                )
                entry = entry or int(cursor.lastrowid or 0)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return entry

    async def close(self) -> None:
        self.connection.close()


class SQLAlchemyFloor:
    """The same statements through SQLAlchemy Core, built once (as contactlog builds its hot
    path's statements), on a synchronous or an asynchronous engine."""

    def __init__(self, url: str, *, asynchronous: bool) -> None:
        self.url, self.asynchronous = url, asynchronous
        metadata = sa.MetaData()
        self.seed = sa.Table(
            "floor_seed",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("value", sa.Text),
        )
        self.entry = sa.Table(
            "floor_entry",
            metadata,
            sa.Column("id", sa.BigInteger, primary_key=True),
            sa.Column("logged_at", sa.Text),
            sa.Column("body", sa.Text),
        )
        self.read = sa.select(self.seed.c.value).where(self.seed.c.id == sa.bindparam("id"))
        self.write = (
            self.entry.insert()
            .values(logged_at=sa.func.now().cast(sa.Text), body=sa.bindparam("body"))
            .returning(self.entry.c.id)
        )

    async def open(self) -> None:
        await PostgresFloor(self.url).open_tables()
        if self.asynchronous:
            self.async_engine = create_async_engine(self.url, pool_size=CONNECTIONS)
        else:
            self.engine = sa.create_engine(self.url, pool_size=CONNECTIONS)

    def store_sync(self, body: str) -> int:
        with self.engine.begin() as conn:
            for _ in range(READS):
                conn.execute(self.read, {"id": 1}).first()
            ids = [conn.execute(self.write, {"body": body}).scalar_one() for _ in range(WRITES)]
        return int(ids[0])

    async def store(self, body: str) -> int:
        async with self.async_engine.begin() as conn:
            for _ in range(READS):
                (await conn.execute(self.read, {"id": 1})).first()
            ids = [
                (await conn.execute(self.write, {"body": body})).scalar_one() for _ in range(WRITES)
            ]
        return int(ids[0])

    async def close(self) -> None:
        if self.asynchronous:
            await self.async_engine.dispose()
        else:
            self.engine.dispose()


VIA = os.environ.get("BENCH_FLOOR_VIA", "driver")
floor: PostgresFloor | SQLiteFloor | SQLAlchemyFloor
if VIA.startswith("sqlalchemy"):
    floor = SQLAlchemyFloor(URL, asynchronous=VIA == "sqlalchemy-async")
else:
    floor = SQLiteFloor(URL) if URL.startswith("sqlite") else PostgresFloor(URL)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await floor.open()
    yield
    await floor.close()


app = FastAPI(lifespan=lifespan)


@app.post("/floor", status_code=201)
async def store(body: dict[str, object]) -> JSONResponse:
    entry = await floor.store(json.dumps(body))
    return JSONResponse({"id": entry}, status_code=201)


@app.post("/floor-sync", status_code=201)
def store_sync(body: dict[str, object]) -> JSONResponse:
    assert isinstance(floor, SQLAlchemyFloor)
    entry = floor.store_sync(json.dumps(body))
    return JSONResponse({"id": entry}, status_code=201)


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}
