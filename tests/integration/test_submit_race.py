"""Submissions for one task at the same moment: one current result, the contract's statuses, no 500.

The submissions are held behind the activity's row lock until all of them wait for it, then let
go together: each one after the first takes the lock only once the one before it has committed,
the case where a read joined to the locking statement still shows the result that was current
when the statement began (PostgreSQL re-checks only the locked row).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from taskbridge.activities.status import ActivityStatus
from taskbridge.config import Settings
from taskbridge.db import create_engine, session_scope
from taskbridge.models import Activity, ActivityResult
from tests.conftest import is_postgres
from tests.factories import World
from tests.integration.support import SUBMIT, in_days, submission

RACERS = 8
WAIT_FOR_RACERS_S = 20.0


@pytest.fixture
async def outside(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of its own, as another process would have, for the lock holder."""
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


async def _waiting_for_the_lock(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE OF activities%'"
            )
        )
    return int(waiting or 0)


@asynccontextmanager
async def held(engine: AsyncEngine, activity_id: uuid.UUID) -> AsyncIterator[None]:
    """The activity locked by another transaction until the block ends."""
    async with engine.connect() as conn, conn.begin():
        locked = select(Activity.id).where(Activity.id == activity_id).with_for_update()
        assert (await conn.execute(locked)).scalar_one() == activity_id
        yield


async def race(
    app: FastAPI, engine: AsyncEngine, world: World, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    """Every body posted by a client of its own, all queued behind the lock before it goes."""
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                    base_url="http://testserver",
                )
            )
            for _ in bodies
        ]
        async with held(engine, world.task.id):
            posts = [
                asyncio.create_task(c.post(SUBMIT, headers=world.headers, json=b))
                for c, b in zip(clients, bodies, strict=True)
            ]
            if is_postgres():
                deadline = asyncio.get_running_loop().time() + WAIT_FOR_RACERS_S
                while await _waiting_for_the_lock(engine) < len(bodies):
                    assert asyncio.get_running_loop().time() < deadline, "racers never queued"
                    await asyncio.sleep(0.02)
            else:
                # SQLite: every transaction begins IMMEDIATE and queues behind the holder's.
                await asyncio.sleep(0.3)
                assert not any(p.done() for p in posts)
        return list(await asyncio.gather(*posts))


async def current_results(
    factory: async_sessionmaker[AsyncSession],
) -> dict[uuid.UUID, list[ActivityResult]]:
    """Every activity's results that are not superseded."""
    async with session_scope(factory) as session:
        rows = await session.scalars(
            select(ActivityResult).where(ActivityResult.superseded_at.is_(None))
        )
        found: dict[uuid.UUID, list[ActivityResult]] = {}
        for row in rows:
            found.setdefault(row.activity_id, []).append(row)
        return found


async def stored_results(factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(factory) as session:
        return int(await session.scalar(select(func.count(ActivityResult.id))) or 0)


def assert_no_500(responses: list[httpx.Response]) -> None:
    assert all(r.status_code != 500 for r in responses), [r.text for r in responses]


async def assert_one_current(
    factory: async_sessionmaker[AsyncSession], world: World, created: list[httpx.Response]
) -> ActivityResult:
    """Exactly one current result for the task, one of those answered 201, and one row each."""
    current = await current_results(factory)
    assert list(current) == [world.task.id], current
    [only] = current[world.task.id]
    assert str(only.id) in {r.json()["id"] for r in created}
    assert await stored_results(factory) == len(created)
    return only


def by_status(responses: list[httpx.Response]) -> dict[int, list[httpx.Response]]:
    grouped: dict[int, list[httpx.Response]] = {}
    for response in responses:
        grouped.setdefault(response.status_code, []).append(response)
    return grouped


async def test_final_results_without_override_store_one_and_refuse_the_rest(
    app: FastAPI,
    outside: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    bodies = [submission(world.task.id) for _ in range(RACERS)]
    responses = await race(app, outside, world, bodies)
    assert_no_500(responses)
    grouped = by_status(responses)
    assert sorted(grouped) == [201, 409], [r.text for r in responses]
    assert len(grouped[201]) == 1
    for refused in grouped[409]:
        assert refused.json()["message"] == (
            f"Activity '{world.task.id}' already has a final result (EFFECTIVE); "
            "send hard_override: true to replace it"
        )
    only = await assert_one_current(session_factory, world, grouped[201])
    assert only.status == "EFFECTIVE"


@pytest.mark.parametrize("status", ["EFFECTIVE", "NOT_EFFECTIVE"])
async def test_final_results_with_hard_override_each_replace_the_one_before(
    app: FastAPI,
    outside: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    status: str,
) -> None:
    code = "SALE_COMPLETED" if status == "EFFECTIVE" else "NOT_INTERESTED"
    bodies = [
        submission(world.task.id, code, status=status, hard_override=True) for _ in range(RACERS)
    ]
    responses = await race(app, outside, world, bodies)
    assert_no_500(responses)
    assert [r.status_code for r in responses] == [201] * RACERS, [r.text for r in responses]
    await assert_one_current(session_factory, world, responses)
    async with session_scope(session_factory) as session:
        activity = await session.get(Activity, world.task.id)
    assert activity is not None
    assert activity.status == ActivityStatus.COMPLETED


async def test_pending_results_each_replace_the_one_before(
    app: FastAPI,
    outside: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    """PENDING is not final: every one is stored (201) and replaces the previous, no override."""
    bodies = [submission(world.task.id, "NO_CONTACT", status="PENDING") for _ in range(RACERS)]
    responses = await race(app, outside, world, bodies)
    assert_no_500(responses)
    assert [r.status_code for r in responses] == [201] * RACERS, [r.text for r in responses]
    await assert_one_current(session_factory, world, responses)


async def test_replaced_reschedules_leave_one_live_follow_up(
    app: FastAPI,
    outside: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    """Each replaced result's follow-up is canceled: the one left is the current result's."""
    bodies = [
        submission(
            world.task.id,
            "RESCHEDULE",
            status="PENDING",
            task_result={"future_scheduled_at": in_days(n + 1)},
        )
        for n in range(RACERS)
    ]
    responses = await race(app, outside, world, bodies)
    assert_no_500(responses)
    assert [r.status_code for r in responses] == [201] * RACERS, [r.text for r in responses]
    only = await assert_one_current(session_factory, world, responses)
    async with session_scope(session_factory) as session:
        follow_ups = (
            await session.scalars(
                select(Activity).where(Activity.parent_activity_id == world.task.id)
            )
        ).all()
    live = [f.id for f in follow_ups if f.status != ActivityStatus.CANCELED]
    assert len(follow_ups) == RACERS
    assert live == [only.follow_up_activity_id]


async def test_a_mix_of_final_and_pending_results_never_stores_two_current(
    app: FastAPI,
    outside: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    """Whatever the order, each answer is 201 or the contract's 409, and one result is current."""
    bodies = [
        submission(world.task.id)
        if n % 2
        else submission(world.task.id, "NO_CONTACT", status="PENDING")
        for n in range(RACERS)
    ]
    responses = await race(app, outside, world, bodies)
    assert_no_500(responses)
    grouped = by_status(responses)
    assert set(grouped) <= {201, 409}, [r.text for r in responses]
    for refused in grouped.get(409, []):
        assert "already has a final result" in refused.json()["message"]
    await assert_one_current(session_factory, world, grouped[201])
