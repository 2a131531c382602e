"""Failures are retried on the backoff schedule, then the task is FAILED and can be forced again."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from taskbridge.dispatch import sender
from taskbridge.dispatch.backoff import retry_delay
from taskbridge.kit.time import utcnow
from taskbridge.models import DispatchConfig
from tests.dispatch.conftest import FakeClock, Pusher
from tests.dispatch.receiver import Received, Receiver

TASKS = "/api/integration/activities/tasks"


def _fail(_request: Received) -> tuple[int, bytes]:
    return 500, b"x" * 5000


def test_schedule_starts_near_five_seconds_and_is_capped_at_an_hour() -> None:
    assert retry_delay(1, lambda: 0.5) == timedelta(seconds=5)
    assert retry_delay(2, lambda: 0.5) == timedelta(seconds=20)
    assert retry_delay(3, lambda: 0.5) == timedelta(seconds=80)
    assert retry_delay(7, lambda: 0.5) == timedelta(hours=1)
    assert retry_delay(30, lambda: 0.999) == timedelta(hours=1)
    assert retry_delay(1, lambda: 0.0) == timedelta(seconds=4)
    assert retry_delay(1, lambda: 1.0) == timedelta(seconds=6)
    total = sum((retry_delay(n, lambda: 0.5) for n in range(1, 8)), timedelta())
    assert timedelta(hours=2) < total < timedelta(hours=3)


async def test_retries_follow_the_schedule_then_the_task_fails(
    pusher: Pusher, receiver: Receiver, clock: FakeClock, client: httpx.AsyncClient
) -> None:
    receiver.answer = _fail
    dispatcher = pusher.dispatcher(clock, dispatch_max_attempts=3)
    task = await pusher.task()
    clock.at = start = utcnow()

    assert await dispatcher.drain() == 1
    [delivery] = await pusher.deliveries(task.id)
    assert (delivery.status, delivery.attempts) == ("PENDING", 1)
    assert delivery.next_attempt_at == start + timedelta(seconds=5)

    clock.advance(seconds=4.9)
    assert await dispatcher.drain() == 0
    clock.advance(seconds=0.1)
    assert await dispatcher.drain() == 1
    [delivery] = await pusher.deliveries(task.id)
    assert delivery.next_attempt_at == clock.at + timedelta(seconds=20)

    clock.advance(seconds=19)
    assert await dispatcher.drain() == 0
    clock.advance(seconds=1)
    assert await dispatcher.drain() == 1
    assert len(receiver.requests) == 3
    assert len({r.webhook_id for r in receiver.requests}) == 1

    [delivery] = await pusher.deliveries(task.id)
    assert (delivery.status, delivery.attempts) == ("FAILED", 3)
    item = (await client.get(f"{TASKS}/{task.id}", headers=pusher.headers)).json()
    assert item["lifecycleStatus"] == "DISPATCH_FAILED"
    assert item["canForceRetryDispatch"] is True
    assert item["lifecycleStatusDetail"] == "endpoint answered 500"
    activity = await pusher.activity(task.id)
    assert (activity.status, activity.dispatch_attempts) == ("FAILED", 3)

    log = await client.get(
        "/api/deliveries", headers=pusher.headers, params={"activity_id": str(task.id)}
    )
    assert log.status_code == 200, log.text
    [listed] = log.json()["data"]
    assert (listed["status"], listed["attemptCount"], listed["nextAttemptAt"]) == (
        "FAILED",
        3,
        None,
    )
    attempts = listed["attempts"]
    assert [a["statusCode"] for a in attempts] == [500, 500, 500]
    assert {len(a["responseBody"]) for a in attempts} == {2048}
    assert all(a["outcome"] == "HTTP_ERROR" and a["durationMs"] >= 0 for a in attempts)
    assert attempts[0]["attemptedAt"] < attempts[1]["attemptedAt"] < attempts[2]["attemptedAt"]


async def test_force_retry_after_failure_dispatches_again(
    pusher: Pusher, receiver: Receiver, clock: FakeClock, client: httpx.AsyncClient
) -> None:
    receiver.answer = _fail
    dispatcher = pusher.dispatcher(clock, dispatch_max_attempts=1)
    task = await pusher.task()
    clock.at = utcnow()
    await dispatcher.drain()
    assert (await pusher.activity(task.id)).status == "FAILED"

    receiver.answer = lambda _r: (204, b"")
    forced = await client.post(f"/api/activities/tasks/{task.id}/dispatch", headers=pusher.headers)
    assert forced.status_code == 202, forced.text
    assert forced.json()["status"] == "PENDING"
    assert forced.json()["attempts"] == []
    item = (await client.get(f"{TASKS}/{task.id}", headers=pusher.headers)).json()
    assert (item["lifecycleStatus"], item["canForceRetryDispatch"]) == ("SCHEDULED", False)

    clock.at = utcnow()
    assert await dispatcher.drain() == 1
    assert (await pusher.activity(task.id)).status == "DISPATCHED"
    assert len({r.webhook_id for r in receiver.requests}) == 2
    again = await client.post(f"/api/activities/tasks/{task.id}/dispatch", headers=pusher.headers)
    assert again.status_code == 409
    assert again.json()["message"] == (
        f"Activity '{task.id}' is DISPATCHED; only READY or FAILED tasks can be dispatched"
    )


async def test_connection_errors_are_retried(pusher: Pusher, clock: FakeClock) -> None:
    async with pusher.factory() as session:
        config = await session.get(DispatchConfig, pusher.config_id)
        assert config is not None
        config.endpoint_url = "http://127.0.0.1:9/closed"
        await session.commit()
    task = await pusher.task()
    clock.at = utcnow()
    await pusher.dispatcher(clock).drain()
    [attempt] = await pusher.attempts()
    assert attempt.outcome == "CONNECTION_ERROR"
    assert attempt.status_code is None
    [delivery] = await pusher.deliveries(task.id)
    assert (delivery.status, delivery.next_attempt_at) == (
        "PENDING",
        clock.at + timedelta(seconds=5),
    )


async def test_gone_deactivates_the_config_and_the_task_stays_ready(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.answer = lambda _r: (410, b"")
    task = await pusher.task()
    await pusher.dispatcher().drain()
    config = await client.get(f"/api/dispatch-configs/{pusher.config_id}", headers=pusher.headers)
    assert config.json()["isActive"] is False
    assert config.json()["deactivatedReason"] == "endpoint answered 410 Gone"
    [delivery] = await pusher.deliveries(task.id)
    assert delivery.status == "CANCELED"
    assert (await pusher.activity(task.id)).status == "READY"

    later = await pusher.task()
    assert await pusher.deliveries(later.id) == []
    assert len(receiver.requests) == 1


async def test_a_slow_endpoint_times_out_and_is_retried(
    pusher: Pusher, receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "TIMEOUT_SECONDS", 0.2)  # the real deadline is 10 s
    receiver.delay = 1.0
    task = await pusher.task()
    clock.at = utcnow()
    await pusher.dispatcher(clock).drain()
    [attempt] = await pusher.attempts()
    assert (attempt.outcome, attempt.status_code) == ("TIMEOUT", None)
    assert attempt.error == "no response within 0.2 s"
    assert 150 <= attempt.duration_ms < 1000
    [delivery] = await pusher.deliveries(task.id)
    assert (delivery.status, delivery.attempts) == ("PENDING", 1)
