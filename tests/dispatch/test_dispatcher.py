"""The dispatcher's loop: leases, shutdown, wake-ups, redelivery, follow-ups, metrics, lifespan."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from taskbridge.app import create_app
from taskbridge.db import session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.metrics import QueueGaugesCache
from taskbridge.models import Delivery
from tests.dispatch.conftest import FakeClock, Pusher
from tests.dispatch.receiver import Receiver

TASK_BODY = {
    "reason": "Visita",
    "channel": "SALESMAN",
    "commerce_external_id": "COM-001",
    "scheduled_at": "2026-05-04T10:00:00Z",
}


async def test_a_lease_keeps_others_away_until_it_expires(
    pusher: Pusher, receiver: Receiver, clock: FakeClock
) -> None:
    task = await pusher.task()
    clock.at = utcnow()
    crashed = pusher.dispatcher(clock)
    [job] = await crashed.claim(10)
    survivor = pusher.dispatcher(clock)
    assert await survivor.drain() == 0
    clock.advance(seconds=pusher.settings.dispatch_lease_seconds + 1)
    assert await survivor.drain() == 1
    [delivery] = await pusher.deliveries(task.id)
    assert delivery.status == "DELIVERED"

    # The first dispatcher wakes up late and sends anyway: logged, but it changes nothing.
    async with crashed.recorder.running():
        await crashed.process(job)
    assert len(receiver.requests) == 2
    assert {r.webhook_id for r in receiver.requests} == {str(delivery.id)}
    [after] = await pusher.deliveries(task.id)
    assert (after.status, after.attempts) == ("DELIVERED", 1)
    assert len(await pusher.attempts()) == 2
    assert (await pusher.activity(task.id)).dispatch_attempts == 2


async def test_shutdown_releases_what_it_holds(pusher: Pusher, receiver: Receiver) -> None:
    await pusher.task()
    await pusher.task()
    stopping = pusher.dispatcher()
    assert len(await stopping.claim(10)) == 2
    await stopping.shutdown()
    assert {d.claimed_by for d in await pusher.deliveries()} == {None}
    assert await pusher.dispatcher().drain() == 2
    assert len(receiver.requests) == 2


async def test_a_commit_wakes_the_running_dispatcher_within_a_second(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    dispatcher = pusher.dispatcher(dispatch_poll_interval=30)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        await asyncio.sleep(0.3)  # idle, waiting: only a wake-up can start the delivery now
        for n in range(3):
            body = {**TASK_BODY, "idempotency_key": f"wake-{n}"}
            created = await client.post("/api/activities/tasks", headers=pusher.headers, json=body)
            assert created.status_code == 201, created.text
            committed = time.time()
            assert len(await receiver.wait_for(n + 1, seconds=2)) == n + 1
            assert receiver.requests[n].started - committed < 1.0
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)
    assert {d.status for d in await pusher.deliveries()} == {"DELIVERED"}
    assert {d.claimed_by for d in await pusher.deliveries()} == {None}


async def test_redelivery_resends_with_the_same_webhook_id(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    task = await pusher.task()
    await pusher.dispatcher().drain()
    [delivery] = await pusher.deliveries(task.id)
    again = await client.post(f"/api/deliveries/{delivery.id}/redeliver", headers=pusher.headers)
    assert again.status_code == 202, again.text
    assert (again.json()["status"], len(again.json()["attempts"])) == ("PENDING", 1)
    assert await pusher.dispatcher().drain() == 1
    assert [r.webhook_id for r in receiver.requests] == [str(delivery.id)] * 2
    log = await client.get(
        "/api/deliveries", headers=pusher.headers, params={"status": "DELIVERED"}
    )
    [listed] = log.json()["data"]
    assert [a["outcome"] for a in listed["attempts"]] == ["SUCCESS", "SUCCESS"]
    missing = await client.post(
        "/api/deliveries/00000000-0000-0000-0000-000000000000/redeliver", headers=pusher.headers
    )
    assert missing.status_code == 404


async def test_a_task_canceled_before_sending_is_not_sent(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    task = await pusher.task()
    canceled = await client.post(
        f"/api/activities/{task.id}/cancel", headers=pusher.headers, json={"reason": "no"}
    )
    assert canceled.status_code == 200
    assert await pusher.dispatcher().drain() == 1
    assert receiver.requests == []
    [delivery] = await pusher.deliveries(task.id)
    assert (delivery.status, delivery.last_error) == ("CANCELED", "activity is CANCELED; not sent")
    refused = await client.post(f"/api/deliveries/{delivery.id}/redeliver", headers=pusher.headers)
    assert refused.status_code == 409


async def test_a_follow_up_is_pushed_too(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    task = await pusher.task()
    await pusher.dispatcher().drain()
    body = {
        "activity_id": str(task.id),
        "commerce_external_id": "COM-001",
        "occurred_at": format_timestamp(utcnow()),
        "status": "EFFECTIVE",
        "task_result": {
            "result": "RESCHEDULE",
            "future_scheduled_at": format_timestamp(utcnow() + timedelta(days=3)),
        },
    }
    submitted = await client.post(
        "/api/integration/activity-results/tasks", headers=pusher.world.headers, json=body
    )
    assert submitted.status_code == 201, submitted.text
    follow_up_id = submitted.json()["followUpActivityId"]
    assert await pusher.dispatcher().drain() == 1
    pushed = receiver.requests[-1].json()["data"]
    assert (pushed["id"], pushed["activityOrigin"], pushed["parentActivityId"]) == (
        follow_up_id,
        "FOLLOW_UP",
        str(task.id),
    )


async def test_metrics_show_the_queue_and_attempts(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    await pusher.task()
    async with session_scope(pusher.factory) as session:
        delivery = (await session.scalars(select(Delivery))).one()
        delivery.next_attempt_at = utcnow() - timedelta(seconds=90)
    text = (await client.get("/metrics")).text
    assert "taskbridge_dispatch_queue_depth 1.0" in text
    age = next(
        line for line in text.splitlines() if line.startswith("taskbridge_dispatch_oldest_due_age")
    )
    assert 89 < float(age.split()[1]) < 120
    receiver.answer = lambda _r: (500, b"")
    await pusher.dispatcher().drain()
    text = (await client.get("/metrics")).text
    assert 'taskbridge_dispatch_attempts_total{outcome="HTTP_ERROR"}' in text
    assert "taskbridge_dispatch_oldest_due_age_seconds 0.0" in text
    assert "taskbridge_dispatch_queue_depth 1.0" in text


async def test_a_burst_of_scrapes_reads_the_queue_once_per_interval(
    pusher: Pusher, app: FastAPI, client: httpx.AsyncClient
) -> None:
    seconds = [0.0]
    app.state.queue_gauges = QueueGaugesCache(5, clock=lambda: seconds[0])
    assert "taskbridge_dispatch_queue_depth 0.0" in (await client.get("/metrics")).text
    await pusher.task()  # a pending delivery
    seconds[0] = 4.9
    assert "taskbridge_dispatch_queue_depth 0.0" in (await client.get("/metrics")).text
    seconds[0] = 5.0
    assert "taskbridge_dispatch_queue_depth 1.0" in (await client.get("/metrics")).text


async def test_the_app_runs_the_dispatcher_in_process_when_asked(
    pusher: Pusher, receiver: Receiver
) -> None:
    app = create_app(pusher.settings.model_copy(update={"dispatch_in_process": True}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        body = {**TASK_BODY, "idempotency_key": "in-process"}
        created = await client.post("/api/activities/tasks", headers=pusher.headers, json=body)
        assert created.status_code == 201
        assert len(await receiver.wait_for(1, seconds=2)) == 1
    [delivery] = await pusher.deliveries()
    assert delivery.status == "DELIVERED"
