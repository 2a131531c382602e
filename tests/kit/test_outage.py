"""Which errors mean "the database cannot answer now", and one log line per outage episode.

Errors come from real databases wherever one can produce them on demand (a held SQLite lock, a
refused port, a terminated PostgreSQL backend, a duplicate key); the driver's own exception
classes stand in only for states a test cannot summon at will (a server starting up).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from taskbridge import db
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.outage import Outage, Trouble, database_trouble, describe, outage_of
from taskbridge.models import Tenant
from tests.conftest import is_postgres
from tests.integration.test_database_busy import write_lock
from tests.kit.test_cache import Clock
from tests.servers import free_port

SOME_ERROR = asyncpg.CannotConnectNowError("the database system is starting up")


def _events(logs: list[MutableMapping[str, Any]]) -> list[str]:
    return [entry["event"] for entry in logs if str(entry["event"]).startswith("database_")]


def test_an_episode_is_logged_when_it_starts_and_when_it_ends() -> None:
    clock = Clock()
    outage = Outage(clock)
    with capture_logs() as logs:
        outage.answered()  # no episode: nothing to say
        for _ in range(3):
            outage.refused(Trouble.UNREACHABLE, SOME_ERROR, path="/api/x")
        outage.noticed(Trouble.UNREACHABLE, SOME_ERROR, worker="w")  # not a refused request
        clock.now += 2.5
        outage.answered()
        outage.answered()
        outage.refused(Trouble.BUSY, SOME_ERROR)
    assert _events(logs) == [
        "database_unavailable",
        "database_available_again",
        "database_unavailable",
    ]
    first, ended, second = (e for e in logs if str(e["event"]).startswith("database_"))
    assert first["log_level"] == "warning"
    assert first["reason"] == "unreachable"
    assert first["path"] == "/api/x"
    assert first["error"] == "CannotConnectNowError: the database system is starting up"
    assert "exc_info" not in first, "no traceback: the error's first line says enough"
    assert (ended["seconds"], ended["refused"]) == (2.5, 3)
    assert second["reason"] == "busy"


def test_concurrent_refusals_and_recoveries_log_one_line_each() -> None:
    outage = Outage()
    threads = 8
    start = threading.Barrier(threads)

    def refuse_then_recover() -> None:
        start.wait()
        for _ in range(500):
            outage.refused(Trouble.UNREACHABLE, SOME_ERROR)
        start.wait()
        outage.answered()

    with capture_logs() as logs:
        workers = [threading.Thread(target=refuse_then_recover) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
    assert _events(logs) == ["database_unavailable", "database_available_again"]
    assert logs[-1]["refused"] == threads * 500


async def _error_of(engine: AsyncEngine, statement: str) -> BaseException:
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    except Exception as exc:
        return exc
    raise AssertionError(f"{statement!r} did not fail")


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    made = create_engine(settings)
    yield made
    await made.dispose()


@pytest.mark.skipif(is_postgres(), reason="SQLite's write lock")
async def test_a_locked_sqlite_database_is_busy(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 20)
    engine = create_engine(settings)
    try:
        with write_lock(settings):
            locked = await _error_of(engine, "SELECT 1")
    finally:
        await engine.dispose()
    assert database_trouble(locked) is Trouble.BUSY
    assert describe(locked) == "OperationalError: database is locked"


async def test_programming_errors_are_not_outages(engine: AsyncEngine) -> None:
    for statement in (
        "SELEC 1",
        "SELECT * FROM no_such_table",
        "SELECT no_such_column FROM tenants",
    ):
        assert database_trouble(await _error_of(engine, statement)) is None, statement
    factory = create_session_factory(engine)
    with pytest.raises(IntegrityError) as duplicate:
        async with session_scope(factory) as session:
            session.add_all([Tenant(name="A", slug="same"), Tenant(name="B", slug="same")])
    assert database_trouble(duplicate.value) is None


async def test_a_refused_connection_is_unreachable() -> None:
    nobody = Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    engine = create_engine(nobody)
    try:
        refused = await _error_of(engine, "SELECT 1")
    finally:
        await engine.dispose()
    assert isinstance(refused, ConnectionRefusedError)
    assert database_trouble(refused) is Trouble.UNREACHABLE


async def test_a_server_that_never_answers_is_unreachable_within_the_pool_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        nobody = Settings(
            database_url=f"postgresql://postgres@127.0.0.1:{port}/none", db_pool_timeout=0.2
        )
        engine = create_engine(nobody)
        started = time.monotonic()
        try:
            silence = await _error_of(engine, "SELECT 1")
        finally:
            await engine.dispose()
    assert time.monotonic() - started < 5, "a connect waits no longer than the pool timeout"
    assert isinstance(silence, TimeoutError)
    assert database_trouble(silence) is Trouble.UNREACHABLE


async def test_an_os_error_outside_the_driver_is_not_an_outage(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        (tmp_path / "missing").read_text()
    assert database_trouble(missing.value) is None
    with pytest.raises(TimeoutError) as timed_out:
        async with asyncio.timeout(0):
            await asyncio.sleep(1)
    assert database_trouble(timed_out.value) is None


@pytest.mark.parametrize(
    ("error", "trouble"),
    [
        (asyncpg.CannotConnectNowError("the database system is starting up"), Trouble.UNREACHABLE),
        (asyncpg.AdminShutdownError("terminating connection"), Trouble.UNREACHABLE),
        (asyncpg.ConnectionDoesNotExistError("connection was closed"), Trouble.UNREACHABLE),
        (
            asyncpg.InterfaceError("cannot perform operation: connection is closed"),
            Trouble.UNREACHABLE,
        ),
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), Trouble.BUSY),
        (asyncpg.UniqueViolationError("duplicate key"), None),
        (asyncpg.PostgresSyntaxError("syntax error"), None),
        (asyncpg.DataError("invalid input for query argument $1"), None),
        (asyncpg.InterfaceError("another operation is in progress"), None),
    ],
)
def test_driver_errors_by_class(error: Exception, trouble: Trouble | None) -> None:
    assert database_trouble(error) is trouble


@pytest.mark.skipif(not is_postgres(), reason="a PostgreSQL backend to terminate")
async def test_a_connection_lost_mid_transaction_is_unreachable(engine: AsyncEngine) -> None:
    async with engine.connect() as victim:
        pid = await victim.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost:
            await victim.execute(text("SELECT 1"))
    assert database_trouble(lost.value) is Trouble.UNREACHABLE


async def test_a_commit_on_that_database_ends_its_episode(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    outage = outage_of(session_factory)
    elsewhere = create_engine(settings)
    try:
        with capture_logs() as logs:
            outage.refused(Trouble.UNREACHABLE, SOME_ERROR)
            async with session_scope(create_session_factory(elsewhere)) as session:
                await session.execute(select(1))
            async with session_scope(session_factory):
                pass  # commits without ever reaching the database
            assert outage.is_ongoing, "neither proves this database answers"
            async with session_scope(session_factory) as session:
                await session.execute(select(1))
    finally:
        await elsewhere.dispose()
    assert not outage.is_ongoing
    assert _events(logs) == ["database_unavailable", "database_available_again"]


async def test_waiters_do_not_ask_an_unreachable_database_again() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0)
    started = asyncio.Event()
    loads = 0

    async def unreachable() -> str:
        nonlocal loads
        loads += 1
        started.set()
        await asyncio.sleep(0.01)
        raise asyncpg.CannotConnectNowError("the database system is shutting down")

    first = asyncio.create_task(cache.get("k", unreachable))
    await started.wait()
    waiters = [asyncio.create_task(cache.get("k", unreachable)) for _ in range(10)]
    outcomes = await asyncio.gather(first, *waiters, return_exceptions=True)
    assert all(isinstance(o, asyncpg.CannotConnectNowError) for o in outcomes)
    assert loads == 1


async def _log_of_a_refresh_failing_with(error: Exception) -> list[str]:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, refresh_after=0.25, clock=clock)
    failed = asyncio.Event()
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        if loads == 1:
            return 1
        failed.set()
        raise error

    assert await cache.get("k", load) == 1
    clock.now += 0.3
    with capture_logs() as logs:
        assert await cache.get("k", load) == 1, "served while it reloads"
        await failed.wait()  # the reload's step, its logging included, is over
    return [entry["event"] for entry in logs]


async def test_a_background_refresh_that_meets_an_outage_logs_nothing() -> None:
    unreachable = asyncpg.CannotConnectNowError("the database system is shutting down")
    assert await _log_of_a_refresh_failing_with(unreachable) == []
    assert await _log_of_a_refresh_failing_with(RuntimeError("a bug")) == ["cache_refresh_failed"]
