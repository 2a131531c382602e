"""How the task list reads: exact small totals, reused large ones, one plan-friendly statement
per page, no transaction round trips."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities.repository import ActivityRepository
from taskbridge.activities.schemas import TaskFilters
from taskbridge.db import UNLOCKED_READ
from taskbridge.kit.cache import LargeCountCache
from tests.conftest import is_postgres
from tests.factories import World
from tests.integration.support import TASKS, add_tasks, submission

BASE = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
RESULTS = "/api/integration/activity-results/tasks"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sent(app: FastAPI) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every statement the app's engine sends, with its connection's execution options."""
    statements: list[tuple[str, dict[str, Any]]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append((statement, dict(conn.get_execution_options())))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def total(client: httpx.AsyncClient, world: World, **params: Any) -> int:
    response = await client.get(TASKS, params=params, headers=world.headers)
    assert response.status_code == 200, response.text
    value: int = response.json()["meta"]["total"]
    return value


def at(count: int) -> list[datetime]:
    return [BASE + timedelta(minutes=n) for n in range(count)]


async def test_a_total_below_ten_thousand_is_exact_on_every_request(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    assert await total(client, world) == 1
    await add_tasks(session_factory, world.tenant.id, at(3))
    assert await total(client, world) == 4, "no cache between a write and the next page"
    assert await total(client, world, channel="SALESMAN") == 4
    await add_tasks(session_factory, world.tenant.id, at(2), channel="SMS")
    assert await total(client, world, channel="SALESMAN") == 4
    assert await total(client, world, channel="SMS") == 2
    assert await total(client, world) == 6


async def test_a_large_total_is_reused_until_recounted_and_never_crosses_tenants(
    app: FastAPI,
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    other_world: World,
) -> None:
    """With the bound lowered to 3: a total of 3 or more is reused (up to the ttl), while
    another tenant's totals, and the same tenant's small filtered ones, stay exact."""
    clock = Clock()
    app.state.task_count_cache = LargeCountCache(30.0, exact_below=3, clock=clock)
    await add_tasks(session_factory, world.tenant.id, at(4))
    assert await total(client, world) == 5
    await add_tasks(session_factory, world.tenant.id, at(1), channel="SMS")
    assert await total(client, world) == 5, "large: the count of a moment ago"
    assert await total(client, world, channel="SMS") == 1, "small: exact"
    assert await total(client, other_world) == 1, "the other tenant's own count"
    await add_tasks(session_factory, other_world.tenant.id, at(1))
    assert await total(client, other_world) == 2
    clock.now += 30.0
    assert await total(client, world) == 6, "past the ttl: counted again"
    assert await total(client, other_world) == 2


def page_statements(sent: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [s for s, _ in sent if "ORDER BY" in s and "LIMIT" in s]


async def test_the_page_size_is_a_literal_and_page_one_has_no_offset(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    sent: list[tuple[str, dict[str, Any]]],
) -> None:
    """One statement per page size (PostgreSQL can keep its generic plan); ``OFFSET`` only for
    a page after the first; a cursor never uses it."""
    await add_tasks(session_factory, world.tenant.id, at(20))
    first = await client.get(TASKS, params={"per_page": 7}, headers=world.headers)
    second = await client.get(TASKS, params={"per_page": 7, "page": 2}, headers=world.headers)
    cursor = first.json()["meta"]["nextCursor"]
    by_cursor = await client.get(
        TASKS, params={"per_page": 7, "cursor": cursor}, headers=world.headers
    )
    default = await client.get(TASKS, headers=world.headers)
    assert [r.status_code for r in (first, second, by_cursor, default)] == [200] * 4
    assert [t["id"] for t in second.json()["data"]] == [t["id"] for t in by_cursor.json()["data"]]
    one, two, three, four = page_statements(sent)
    assert [bool(re.search(r"LIMIT 8\b", s)) for s in (one, two, three)] == [True] * 3
    assert re.search(r"LIMIT 21\b", four)
    assert "OFFSET" in two
    if is_postgres():  # SQLite's dialect writes an OFFSET into every LIMIT (it plans anew)
        assert ["OFFSET" in s for s in (one, three, four)] == [False] * 3


def read_only(options: dict[str, Any]) -> bool:
    """The connection runs each statement alone (``db.read_only_options``)."""
    if is_postgres():
        return options.get("isolation_level") == "AUTOCOMMIT"
    return options.get(UNLOCKED_READ) is True


async def test_task_reads_run_without_a_transaction_and_writes_keep_theirs(
    client: httpx.AsyncClient, world: World, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    """The task reads run without ``BEGIN``/``COMMIT`` round trips: ``AUTOCOMMIT`` on
    PostgreSQL, no ``BEGIN IMMEDIATE`` (SQLite's write lock) on SQLite; a write keeps its
    transaction."""
    listed = await client.get(TASKS, headers=world.headers)
    one = await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)
    assert (listed.status_code, one.status_code) == (200, 200)
    assert listed.json()["data"][0] == one.json()
    reads = [options for s, options in sent if "activities" in s]
    assert len(reads) >= 3, sent
    assert all(read_only(options) for options in reads)
    sent.clear()
    posted = await client.post(RESULTS, json=submission(world.task.id), headers=world.headers)
    assert posted.status_code == 201, posted.text
    writes = [options for s, options in sent if s.startswith(("INSERT", "UPDATE"))]
    assert writes, sent
    assert not any(read_only(options) for options in writes)
    if not is_postgres():
        assert any(s.startswith("BEGIN IMMEDIATE") for s, _ in sent)


@pytest.mark.skipif(not is_postgres(), reason="PostgreSQL's plan cache")
async def test_postgresql_keeps_a_generic_plan_for_the_page_statement(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    """After its first five executions on a connection, the page statement is no longer
    planned anew (a bound ``LIMIT``/``OFFSET`` kept PostgreSQL on custom plans for ever)."""
    await add_tasks(session_factory, world.tenant.id, at(30))
    async with session_factory() as session:
        repo = ActivityRepository(session, world.tenant.id)
        for _ in range(10):
            rows = await repo.list_tasks(TaskFilters(), offset=0, limit=21, after=None)
            assert len(rows) == 21
        plans = await session.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%LIMIT 21%AS page%' "
                "AND statement NOT LIKE '%pg_prepared_statements%'"
            )
        )
        assert [tuple(row) for row in plans] == [(5, 5)]
