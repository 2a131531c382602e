"""The relay under concurrency: writers committing while two dispatchers relay and send, on
PostgreSQL; every event becomes exactly one delivery per endpoint, sent once. And retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from taskbridge.db import session_scope
from taskbridge.dispatch.worker import Dispatcher
from taskbridge.event_endpoints import relay
from taskbridge.kit.time import utcnow
from taskbridge.models import Event, EventDelivery, EventDeliveryAttempt
from taskbridge.retention import service as retention
from tests.conftest import is_postgres
from tests.events.webhooks.conftest import HANG_GUARD, Hooks, SignedReceiver, deliver_until

ENDPOINT_COUNT = 3
WRITERS = 4
TASKS_PER_WRITER = 20


@pytest.mark.skipif(not is_postgres(), reason="concurrent relays need PostgreSQL")
async def test_two_dispatchers_relaying_at_once_create_each_delivery_once(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoints = [await hooks.create(events_receiver) for _ in range(ENDPOINT_COUNT)]
    start = await hooks.feed_position()
    stop = asyncio.Event()
    dispatchers = [
        Dispatcher(hooks.settings, hooks.factory, worker_id=name) for name in ("one", "two")
    ]
    running = [asyncio.create_task(d.run(stop)) for d in dispatchers]

    async def write(writer: int) -> None:
        for _ in range(TASKS_PER_WRITER):
            await hooks.task(reason=f"writer {writer}")

    async def relay_hard() -> None:  # a third relay, racing the dispatchers' own
        while not stop.is_set():
            await relay.relay_once(hooks.factory, utcnow())

    racing = asyncio.create_task(relay_hard())
    try:
        await asyncio.gather(*(write(n) for n in range(WRITERS)))
        expected = WRITERS * TASKS_PER_WRITER * ENDPOINT_COUNT
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANG_GUARD * 3
        while len(events_receiver.requests) < expected:  # the dispatchers run on their own
            assert loop.time() < deadline, len(events_receiver.requests)
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*running, racing), timeout=HANG_GUARD)

    feed, _ = await hooks.feed_after(start)
    assert len(feed) == WRITERS * TASKS_PER_WRITER
    sent = [(r.path, r.webhook_id) for r in events_receiver.requests]
    assert len(set(sent)) == len(sent) == expected, "a delivery was sent twice"
    by_endpoint: dict[str, list[str]] = {}
    for delivery in await hooks.deliveries():
        by_endpoint.setdefault(str(delivery.endpoint_id), []).append(str(delivery.id))
    assert sorted(by_endpoint) == sorted(e["id"] for e in endpoints)
    assert all(len(ids) == WRITERS * TASKS_PER_WRITER for ids in by_endpoint.values())
    received = [r.json()["data"]["id"] for r in events_receiver.requests]
    assert sorted(received) == sorted(e["id"] for e in feed for _ in range(ENDPOINT_COUNT))
    assert events_receiver.forged == []


async def test_closed_deliveries_are_purged_with_the_events_retention(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver)
    for _ in range(3):
        await hooks.task()
    dispatcher = hooks.dispatcher()

    async def sent() -> bool:
        return len(events_receiver.requests) >= 3

    await deliver_until(dispatcher, sent)
    delivered, kept, pending = await hooks.deliveries(endpoint["id"])
    old = utcnow() - timedelta(days=31)
    async with session_scope(hooks.factory) as session:
        for row in (delivered, pending):
            await session.execute(
                update(EventDelivery).where(EventDelivery.id == row.id).values(created_at=old)
            )
        await session.execute(
            update(EventDelivery)
            .where(EventDelivery.id == pending.id)
            .values(status="PENDING", attempts=0)
        )
    purged = await retention.purge(hooks.factory, delivery_retention=timedelta(days=30))
    assert purged.event_deliveries == 1
    left = {d.id for d in await hooks.deliveries(endpoint["id"])}
    assert left == {kept.id, pending.id}
    async with session_scope(hooks.factory) as session:
        orphans = await session.scalar(
            select(func.count())
            .select_from(EventDeliveryAttempt)
            .where(EventDeliveryAttempt.delivery_id == delivered.id)
        )
        assert orphans == 0
        assert (await session.scalar(select(func.count()).select_from(Event)) or 0) > 0


async def test_every_endpoint_is_relayed_when_they_fill_several_transactions(
    hooks: Hooks, events_receiver: SignedReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay, "ENDPOINTS_PER_CYCLE", 2)
    monkeypatch.setattr(relay, "EVENTS_PER_ENDPOINT", 2)
    endpoints = [await hooks.create(events_receiver) for _ in range(5)]
    for _ in range(3):
        await hooks.task()
    dispatcher = hooks.dispatcher()

    async def all_sent() -> bool:
        return len(events_receiver.requests) >= 15

    await deliver_until(dispatcher, all_sent)
    per_endpoint = {e["id"]: len(await hooks.deliveries(e["id"])) for e in endpoints}
    assert set(per_endpoint.values()) == {3}
    assert len(events_receiver.requests) == 15
