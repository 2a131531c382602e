"""Retention: what has outlived its use is purged in small batches, nothing else is touched.

Rows are written with timestamps around each horizon, seen from a fixed ``NOW`` handed to the
purge (no waiting): idempotency records 24 h, failed sign-ins 15 min, attempts of closed
deliveries ``delivery_retention_days``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.models import (
    ApiKey,
    Base,
    Delivery,
    DeliveryAttempt,
    IdempotencyRecord,
    LoginFailure,
)
from taskbridge.retention import service as retention
from tests.cli.conftest import Cli, database_env
from tests.factories import World, build_world

NOW = utcnow().replace(microsecond=0)
THIRTY_DAYS = timedelta(days=30)
HANG_GUARD_SECONDS = 30.0
PURGED_TABLES = {"idempotency_records", "login_failures", "delivery_attempts"}


async def _add(factory: async_sessionmaker[AsyncSession], *rows: Any) -> list[uuid.UUID]:
    async with session_scope(factory) as session:
        session.add_all(rows)
    return [row.id for row in rows]


async def _idempotency_record(
    factory: async_sessionmaker[AsyncSession], world: World, age: timedelta, *, answered: bool
) -> uuid.UUID:
    async with factory() as session:
        key_id = await session.scalar(select(ApiKey.id).where(ApiKey.tenant_id == world.tenant.id))
    record = IdempotencyRecord(
        id=uuid.uuid4(),
        tenant_id=world.tenant.id,
        api_key_id=key_id,
        key=uuid.uuid4().hex,
        request_hash="0" * 64,
        response_status=201 if answered else None,
        response_body="{}" if answered else None,
        created_at=NOW - age,
    )
    (found,) = await _add(factory, record)
    return found


async def _login_failure(factory: async_sessionmaker[AsyncSession], age: timedelta) -> uuid.UUID:
    failure = LoginFailure(
        id=uuid.uuid4(), account="ana@acme.test", address="192.0.2.7", failed_at=NOW - age
    )
    (found,) = await _add(factory, failure)
    return found


async def _delivery(
    factory: async_sessionmaker[AsyncSession], world: World, status: str, *ages: timedelta
) -> list[uuid.UUID]:
    """A delivery in ``status`` with one attempt per age; the attempts' ids."""
    delivery = Delivery(
        id=uuid.uuid4(), tenant_id=world.tenant.id, activity_id=world.task.id, status=status
    )
    await _add(factory, delivery)
    attempts = [
        DeliveryAttempt(
            id=uuid.uuid4(),
            tenant_id=world.tenant.id,
            delivery_id=delivery.id,
            attempted_at=NOW - age,
            endpoint_url="https://hooks.example.com/tasks",
            outcome="HTTP_ERROR",
            status_code=500,
        )
        for age in ages
    ]
    return await _add(factory, *attempts)


async def _ids(factory: async_sessionmaker[AsyncSession], model: Any) -> set[uuid.UUID]:
    async with factory() as session:
        return set(await session.scalars(select(model.id)))


async def _row_counts(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with factory() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


@contextmanager
def _deletes_counted(engine: AsyncEngine) -> Iterator[dict[str, int]]:
    """How many DELETE statements reached the database, per table (a listener, not a mock)."""
    counts: dict[str, int] = {}

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words[:2] == ["DELETE", "FROM"]:
            counts[words[2]] = counts.get(words[2], 0) + 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(session_factory)


async def test_rows_past_their_horizon_go_in_batches_and_nothing_else_is_touched(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    f = session_factory
    expired = {
        await _idempotency_record(f, world, timedelta(hours=24, minutes=1), answered=answered)
        for answered in (True, True, True, False, True)
    }
    valid = {
        await _idempotency_record(f, world, timedelta(hours=23, minutes=59), answered=True),
        await _idempotency_record(f, world, timedelta(seconds=30), answered=False),
    }
    aged_failures = {await _login_failure(f, timedelta(minutes=16)) for _ in range(5)}
    recent_failures = {await _login_failure(f, timedelta(minutes=14)) for _ in range(2)}
    old, recent = THIRTY_DAYS + timedelta(hours=1), THIRTY_DAYS - timedelta(hours=1)
    *delivered_old, delivered_recent = await _delivery(f, world, "DELIVERED", old, old, old, recent)
    failed = await _delivery(f, world, "FAILED", timedelta(days=400), old)
    canceled = await _delivery(f, world, "CANCELED", old)
    pending = await _delivery(f, world, "PENDING", old, old)
    before = await _row_counts(f)

    with _deletes_counted(app.state.engine) as deletes:
        purged = await retention.purge(f, delivery_retention=THIRTY_DAYS, now=NOW, batch_size=2)

    assert purged == retention.Purged(idempotency_records=5, login_failures=5, delivery_attempts=6)
    # Two rows per statement, until one deletes fewer: 5 rows take 2 + 2 + 1; 6 take 2 + 2 + 2
    # and a fourth statement that finds none.
    assert deletes == {
        "idempotency_records": 3,
        "login_failures": 3,
        "delivery_attempts": 4,
        "audit_entries": 1,
        "events": 1,
        "event_deliveries": 1,
    }
    assert await _ids(f, IdempotencyRecord) == valid
    assert expired.isdisjoint(await _ids(f, IdempotencyRecord))
    assert await _ids(f, LoginFailure) == recent_failures
    assert aged_failures.isdisjoint(await _ids(f, LoginFailure))
    # A pending delivery keeps its whole history however old; closed ones keep the recent part.
    assert await _ids(f, DeliveryAttempt) == {delivered_recent, *pending}
    assert {*failed, *canceled, *delivered_old}.isdisjoint(await _ids(f, DeliveryAttempt))
    after = await _row_counts(f)
    untouched = {name: n for name, n in before.items() if name not in PURGED_TABLES}
    assert {name: after[name] for name in untouched} == untouched
    assert after["deliveries"] == 4

    again = await retention.purge(f, delivery_retention=THIRTY_DAYS, now=NOW, batch_size=2)
    assert again == retention.Purged(0, 0, 0)


async def test_the_background_purge_deletes_expired_rows_until_stopped(
    session_factory: async_sessionmaker[AsyncSession], world: World, settings: Settings
) -> None:
    expired = await _idempotency_record(session_factory, world, timedelta(days=2), answered=True)
    failure = await _login_failure(session_factory, timedelta(hours=1))
    stop = asyncio.Event()
    purging = asyncio.create_task(
        retention.purge_until_stopped(
            settings, session_factory, stop, now=lambda: NOW, interval=timedelta(0)
        )
    )
    try:
        async with asyncio.timeout(HANG_GUARD_SECONDS):
            # The condition lives in the database, so it is polled; the timeout is a hang guard.
            while await _ids(session_factory, IdempotencyRecord) or await _ids(  # noqa: ASYNC110
                session_factory, LoginFailure
            ):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(purging, HANG_GUARD_SECONDS)
    assert expired not in await _ids(session_factory, IdempotencyRecord)
    assert failure not in await _ids(session_factory, LoginFailure)


async def test_db_purge_uses_the_configured_retention_and_prints_counts(
    session_factory: async_sessionmaker[AsyncSession], world: World, settings: Settings
) -> None:
    kept, gone = await _delivery(
        session_factory,
        world,
        "DELIVERED",
        timedelta(hours=12),
        timedelta(days=2),
    )
    cli = Cli(env={**database_env(settings), "TASKBRIDGE_DELIVERY_RETENTION_DAYS": "1"})
    assert await cli.json("db", "purge") == {
        "idempotencyRecords": 0,
        "loginFailures": 0,
        "deliveryAttempts": 1,
        "auditEntries": 0,
    }
    assert await _ids(session_factory, DeliveryAttempt) == {kept}
    text = (await cli.ok("db", "purge")).stdout
    assert "0 delivery attempts of closed deliveries past the 1-day retention" in text
    assert gone not in await _ids(session_factory, DeliveryAttempt)


async def test_db_purge_refuses_a_retention_below_one_day(settings: Settings) -> None:
    cli = Cli(env={**database_env(settings), "TASKBRIDGE_DELIVERY_RETENTION_DAYS": "0"})
    refused = await cli.refused("db", "purge")
    assert "TASKBRIDGE_DELIVERY_RETENTION_DAYS" in refused.stderr
    with pytest.raises(ValidationError):
        Settings(delivery_retention_days=0)
