"""Whole submissions in one transaction outside the session: the result route's fast path.

The stores here run the same statements as :class:`taskbridge.results.stores.SessionStore`
(built by the same functions), without the session and SQLAlchemy's asyncio layers:

- PostgreSQL (:class:`DriverTransactions`): on an ``asyncpg`` connection of the engine's pool,
  the statements compiled once for the driver (``kit.driver``): ``BEGIN``, the lock, the
  supersede, every write as one statement, ``COMMIT``.
- SQLite (:class:`SqliteWriter`): the whole transaction in one worker thread, on a connection of
  its own with the same pragmas and ``BEGIN IMMEDIATE``, through synchronous Core. The write lock
  is held only while the statements run, not across a thread hop per statement; and SQLite has
  one writer anyway.

Follow-ups (created by a result that requires a future date, or canceled when their result is
replaced) stay with the session: the stores raise :class:`NeedsTheSession` for them (before
anything is written, or rolled back). A refusal of the rules (an ``AppError``) is rolled back and
raised; a failed ``COMMIT`` raises :class:`CommitFailed`; any other error leaves nothing written.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from sqlalchemy import Executable
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from taskbridge.activities.submission_repository import (
    SubmissionWrites,
    combined_write,
    separate_writes,
)
from taskbridge.db import create_sqlite_writer
from taskbridge.errors import AppError
from taskbridge.kit.driver import compiled_for, driver_connection
from taskbridge.results.stores import NeedsTheSession, SubmissionStore

T = TypeVar("T")
Work = Callable[[SubmissionStore], Coroutine[Any, Any, T]]


class CommitFailed(Exception):
    """The ``COMMIT`` failed with ``error``: the outcome is unknown."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class FastTransactions(Protocol):
    async def run(self, tenant_id: uuid.UUID, work: Work[T]) -> T:
        """``work`` on a store in one transaction, committed when it returns."""
        ...

    async def close(self) -> None: ...


class DriverStore(SubmissionStore):
    """On an asyncpg connection: statements compiled once for the driver; one for the writes."""

    def __init__(self, connection: Any, dialect: Dialect, tenant_id: uuid.UUID) -> None:
        super().__init__(tenant_id)
        self.connection = connection
        self.dialect = dialect

    async def first(self, stmt: Executable, params: dict[str, Any]) -> Sequence[Any] | None:
        sql, args = compiled_for(stmt, self.dialect).bind(params)
        row: Sequence[Any] | None = await self.connection.fetchrow(sql, *args)
        return row

    async def store(self, writes: SubmissionWrites) -> None:
        stmt, params = combined_write(self.tenant_id, writes)
        sql, args = compiled_for(stmt, self.dialect).bind(params)
        await self.connection.execute(sql, *args)


class DriverTransactions:
    """PostgreSQL: a transaction on a driver connection of ``engine``'s pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def run(self, tenant_id: uuid.UUID, work: Work[T]) -> T:
        refused: AppError | NeedsTheSession | None = None
        # Any other error leaves the block with the transaction open: the connection is then
        # discarded (``driver_connection``), and the database rolls back what it held.
        async with driver_connection(self.engine) as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                result = await work(DriverStore(connection, self.engine.dialect, tenant_id))
            except (AppError, NeedsTheSession) as exc:
                await transaction.rollback()  # the connection stays in the pool
                refused = exc
            else:
                try:
                    await transaction.commit()
                except Exception as exc:
                    raise CommitFailed(exc) from exc
        if refused is not None:
            raise refused
        return result

    async def close(self) -> None:
        """(the engine's pool is the application's)"""


class CoreStore(SubmissionStore):
    """On a synchronous Core connection: its methods never suspend; one statement per table."""

    def __init__(self, connection: Connection, tenant_id: uuid.UUID) -> None:
        super().__init__(tenant_id)
        self.connection = connection

    async def first(self, stmt: Executable, params: dict[str, Any]) -> Sequence[Any] | None:
        return self.connection.execute(stmt, params).first()

    async def store(self, writes: SubmissionWrites) -> None:
        for stmt, params in separate_writes(self.tenant_id, writes):
            self.connection.execute(stmt, params)


class SqliteWriter:
    """SQLite: each transaction whole in one worker thread, one at a time, on its own
    connection (opened on first use, in that thread)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine: Engine | None = None
        self._async_engine = engine
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="taskbridge-sqlite-writer")

    async def run(self, tenant_id: uuid.UUID, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._transaction, tenant_id, work)

    def _transaction(self, tenant_id: uuid.UUID, work: Work[T]) -> T:
        if self._engine is None:
            self._engine = create_sqlite_writer(self._async_engine)
        with self._engine.connect() as connection:
            transaction = connection.begin()  # BEGIN IMMEDIATE: the write lock, waited for
            try:
                result = _completed(work(CoreStore(connection, tenant_id)))
            except BaseException:
                transaction.rollback()
                raise
            try:
                transaction.commit()
            except Exception as exc:
                raise CommitFailed(exc) from exc
            return result

    async def close(self) -> None:
        """Closes the connection in its own thread, then the thread."""
        loop = asyncio.get_running_loop()
        if self._engine is not None:
            await loop.run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=False)


def _completed(coroutine: Coroutine[Any, Any, T]) -> T:
    """The value of a coroutine that never suspends (every store call here is synchronous)."""
    try:
        coroutine.send(None)
    except StopIteration as finished:
        value: T = finished.value
        return value
    coroutine.close()
    raise RuntimeError("a submission suspended in the SQLite writer")


def fast_transactions(engine: AsyncEngine) -> FastTransactions | None:
    """The fast path's transactions for ``engine``'s database (None: the route does it all)."""
    name = engine.dialect.name
    if name == "postgresql":
        return DriverTransactions(engine)
    if name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return SqliteWriter(engine)
    return None


async def close_fast_transactions(app: Any) -> None:
    """Close ``app.state.fast_transactions`` (SQLite's writer thread and connection), if any."""
    transactions: FastTransactions | None = getattr(app.state, "fast_transactions", None)
    if transactions is not None:
        await transactions.close()
