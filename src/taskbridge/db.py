"""Engines and sessions: one factory per process, ``session_scope()`` for CLI and workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import SingletonThreadPool

from taskbridge.config import Settings

UNLOCKED_READ = "taskbridge_unlocked_read"
"""Execution option (``connection.execution_options(**{UNLOCKED_READ: True})``) for a connection
that only reads and must not queue behind a writer (the readiness probe): on SQLite it skips
``BEGIN IMMEDIATE``, so each statement runs on its own; elsewhere it changes nothing. Not
SQLAlchemy's ``AUTOCOMMIT``: resetting that on pysqlite would leave the pooled connection with
the driver's implicit transactions."""
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a statement waits for SQLite's one write lock before ``database is locked``. Above
any write this application makes, a CSV import's included (10,000 tasks hold the lock 2-3 s on a
busy 2-core machine), so writers wait one out instead of failing; below the time a client waits
for an answer."""


def read_only_options(engine: AsyncEngine) -> dict[str, Any]:
    """Execution options for connections that only read, one statement at a time: no ``BEGIN``
    or ``COMMIT`` round trips (each statement sees its own snapshot).

    PostgreSQL: ``AUTOCOMMIT`` (asyncpg then sends the statement alone; the pool restores the
    isolation level on return, without a round trip). SQLite: :data:`UNLOCKED_READ`, which also
    keeps a read from queueing behind the one writer.
    """
    if engine.dialect.name == "sqlite":
        return {UNLOCKED_READ: True}
    return {"isolation_level": "AUTOCOMMIT"}


def _configure_sqlite(engine: Engine) -> None:
    """WAL, durable commits, enforced foreign keys, and write-intent transactions.

    Every transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the
    busy timeout instead of failing when a read transaction upgrades to a write.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching to WAL needs a lock a writer may hold, and without
        # the timeout a connection opened meanwhile would fail at once instead of waiting.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not connection.get_execution_options().get(UNLOCKED_READ):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def ensure_database_folder(settings: Settings) -> None:
    """Create the folder of an SQLite file so a fresh machine needs no set-up."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite":
        ensure_database_folder(settings)
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout,
        )
        _configure_sqlite(engine.sync_engine)
        return engine
    # No pre-ping (a round trip per checkout): a connection found dead fails its request with a
    # 503 and invalidates every pooled connection opened before it, so the next checkouts
    # connect afresh and the server recovers as soon as the database is back (tested by
    # stopping a real cluster). A connect waits no longer than a free connection would.
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=False,
        connect_args={"timeout": settings.db_pool_timeout},
    )


def create_sqlite_writer(engine: AsyncEngine) -> Engine:
    """A synchronous engine of one connection on ``engine``'s SQLite file, with its pragmas and
    ``BEGIN IMMEDIATE``: for a writer that runs a whole transaction in one worker thread (the
    result route's fast path), holding SQLite's write lock only while its statements run."""
    url = engine.url.set(drivername="sqlite+pysqlite")
    writer = create_sync_engine(url, poolclass=SingletonThreadPool, pool_size=1)
    _configure_sqlite(writer)
    return writer


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
