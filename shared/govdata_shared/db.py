"""Async database access through SQLModel: Postgres (asyncpg) in production, SQLite (aiosqlite) embedded.

One database per service. `Database.session()` is the one place that commits on success and rolls back on
error; when the committed transaction wrote outbox rows it wakes the relay, so events leave right after the
domain change is durable.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, TypeDecorator, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

OUTBOX_DIRTY = "outbox_dirty"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the single writer; busy_timeout waits for the write lock
    # instead of failing at once when the relay and a request write together.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _postgres_settings(dbapi_connection, _record) -> None:
    # No JIT: the platform's statements take milliseconds, and a catalog search at 100,000 resources whose cost
    # estimate passed jit_above_cost spent 11 ms of its 92 compiling. A SET, not a startup parameter: PgBouncer
    # (deploy/k8s) refuses startup parameters it does not know.
    dbapi_connection.run_async(lambda connection: connection.execute("SET jit = off"))


READ_ONLY = "govdata_read_only"
DATABASE = "govdata_database"  # session.info: the Database a reading session came from


def _sqlite_begin(connection) -> None:
    # A deferred transaction that reads and then writes cannot wait for the write lock: SQLite fails it at once
    # with "database is locked" when another writer committed in between. IMMEDIATE takes the write lock at
    # BEGIN, where busy_timeout does apply, so concurrent requests queue instead of failing. A transaction that
    # only reads (Database.reading) begins deferred and takes no lock: WAL readers never wait for the writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine, its session factory and the after-commit hooks of one service."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 20) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict = {"echo": echo}
        if self.is_postgres:
            # `pool_size` connections at most, all kept once opened: an overflow connection is closed as soon as it
            # is returned, so 16 users at once made the pool connect (TLS, authentication) over and over. No ping
            # before each use (BEGIN, a query, ROLLBACK: 0.5 ms, a third of a kept page's time): a connection cut
            # by a failover fails its request with 503 `database_unavailable` (errors.py), and the pool drops it
            # and every connection opened before it, so one request, or the readiness probe, finds it.
            kwargs.update(pool_size=pool_size, max_overflow=0)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_postgres:
            event.listen(self.engine.sync_engine, "connect", _postgres_settings)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True}) if self.is_sqlite else self.engine
        self._after_outbox_commit: list[Callable[[], None]] = []
        in_memory = parsed.database in (None, "", ":memory:")
        self._sqlite_file = parsed.database if self.is_sqlite and not in_memory else None
        self._direct: sqlite3.Connection | None = None

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every commit that wrote outbox rows (the relay's wake-up)."""
        self._after_outbox_commit.append(callback)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit on success, roll back on any error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            if session.info.pop(OUTBOX_DIRTY, False):
                for callback in self._after_outbox_commit:
                    callback()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads: on SQLite it takes no write lock, so it never waits for a writer nor
        makes one wait. It takes a connection at its first query (a route answered without one takes none) and
        ends with it (rolled back, so nothing written in it stays); rows read stay usable after it, detached."""
        async with AsyncSession(bind=self._read_engine, expire_on_commit=False, info={DATABASE: self}) as session:
            yield session

    async def read_value(self, session: AsyncSession, statement: str) -> Any:
        """The first value of `statement`'s first row, outside any transaction: on SQLite read on this thread from
        a connection of its own (microseconds; through the driver's thread it would take three thread hops), on
        Postgres on the session's connection before its transaction begins (one round trip, not three)."""
        if self._sqlite_file is not None:
            if self._direct is None:
                self._direct = sqlite3.connect(self._sqlite_file, isolation_level=None, check_same_thread=False)
                self._direct.execute("PRAGMA busy_timeout=1000")
            row = self._direct.execute(statement).fetchone()
            return row[0] if row else None
        if self.is_postgres and not session.in_transaction():
            connection = await (await session.connection()).get_raw_connection()
            try:
                return await connection.driver_connection.fetchval(statement)
            except Exception:  # noqa: BLE001 - read again through SQLAlchemy, which tells a cut connection
                pass  # (503 database_unavailable) and drops it from the pool, or raises the query's own error
        return (await session.execute(text(statement))).scalar()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._direct is not None:
            self._direct.close()
            self._direct = None
        await self.engine.dispose()


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on Postgres and on SQLite alike.

    SQLite keeps no zone; values are stored as UTC and given back with the zone put back on.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the platform stores aware UTC timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
