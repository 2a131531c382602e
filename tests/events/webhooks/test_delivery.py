"""Event webhooks end to end: every event type reaches a receiver that verifies each signature,
with the feed's document; outages are retried on a controlled clock; 5 days of failures disable
the endpoint; type filters, secret rotation, redelivery of one delivery or since a time."""

from __future__ import annotations

import functools
import socket
import uuid
from datetime import timedelta
from typing import Any

from standardwebhooks import Webhook

from taskbridge.activities import service as activities
from taskbridge.activities.status import Channel
from taskbridge.db import session_scope
from taskbridge.dispatch.backoff import retry_delay
from taskbridge.dispatch.schemas import Provider
from taskbridge.event_endpoints.sending import MAX_ATTEMPTS
from taskbridge.events.schemas import EventType
from taskbridge.kit.time import format_timestamp, parse_aware, utcnow
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate, ResultTypeUpdate
from tests.dispatch.conftest import FakeClock, make_config
from tests.dispatch.receiver import Received, Receiver, running_receiver
from tests.events.test_feed import result_body
from tests.events.webhooks.conftest import ENDPOINTS, Hooks, SignedReceiver, deliver_until

SUBMIT = "/api/integration/activity-results/tasks"
STEP = 3
"""Hours the clock moves at a time in the five-day test (retries are at most an hour apart)."""


def _unavailable(_request: Received) -> tuple[int, bytes]:
    return 503, b"down for maintenance"


async def _submit(hooks: Hooks, body: dict[str, Any]) -> None:
    posted = await hooks.client.post(SUBMIT, headers=hooks.world.headers, json=body)
    assert posted.status_code == 201, posted.text


async def test_every_event_type_arrives_signed_with_the_feeds_document(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    start = await hooks.feed_position()
    endpoint = await hooks.create(events_receiver)
    second, doomed = await hooks.task(), await hooks.task()
    with running_receiver(Receiver(answer=lambda _r: (500, b"no"))) as failing:
        await make_config(
            hooks.factory, hooks.settings, hooks.tenant_id, None, provider=Provider.MOCK
        )
        await make_config(
            hooks.factory, hooks.settings, hooks.tenant_id, failing.url, channel=Channel.CALLCENTER
        )
        await hooks.task()  # pushed (MOCK): task.dispatched
        await hooks.task(channel=Channel.CALLCENTER)  # refused once: task.dispatch_failed
        follow_up = result_body(hooks.world, status="PENDING", code="RESCHEDULE")
        follow_up["task_result"]["future_scheduled_at"] = (utcnow() + timedelta(days=2)).isoformat()
        await _submit(hooks, follow_up)
        await _submit(hooks, {**result_body(hooks.world), "activity_id": str(second.id)})
        async with session_scope(hooks.factory) as session:
            await activities.cancel(session, hooks.tenant_id, doomed.id, reason="x", actor="t")
            made = await result_types.create(
                session, hooks.tenant_id, ResultTypeCreate(code="CALL_BACK", label="Llamar")
            )
            await result_types.update(
                session, hooks.tenant_id, made.id, ResultTypeUpdate(label="Volver a llamar")
            )
            await result_types.set_active(session, hooks.tenant_id, made.id, is_active=False)
            await result_types.set_active(session, hooks.tenant_id, made.id, is_active=True)
            await result_types.delete(session, hooks.tenant_id, made.id)
        dispatcher = hooks.dispatcher(dispatch_max_attempts=1)
        feed: list[Any] = []

        async def everything_arrived() -> bool:
            nonlocal feed
            feed, _ = await hooks.feed_after(start)
            received = {b["data"]["id"] for b in events_receiver.bodies()}
            return {e["type"] for e in feed} == set(EventType) and received == {
                e["id"] for e in feed
            }

        await deliver_until(dispatcher, everything_arrived)

    assert events_receiver.forged == []
    documents = {event["id"]: event for event in feed}
    bodies = [events_receiver.verified(r) for r in events_receiver.requests]
    assert len(bodies) == len(feed), "an event was sent twice"
    for body in bodies:
        assert body["type"] == body["data"]["type"]
        assert body["data"] == documents[body["data"]["id"]]
        assert body["timestamp"].endswith("Z")
    deliveries = await hooks.deliveries(endpoint["id"])
    assert {r.webhook_id for r in events_receiver.requests} == {str(d.id) for d in deliveries}
    assert {d.status for d in deliveries} == {"DELIVERED"}
    log = await hooks.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", per_page=100)
    assert log["meta"]["total"] == len(feed)
    assert {d["eventId"] for d in log["data"]} == set(documents)
    assert all(d["attempts"][0]["statusCode"] == 200 for d in log["data"])


async def test_history_is_not_sent_to_a_new_endpoint(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    await hooks.create(events_receiver)
    await hooks.dispatcher().drain()
    assert events_receiver.requests == []


async def test_an_outage_is_retried_with_backoff_until_the_receiver_is_back(
    hooks: Hooks, events_receiver: SignedReceiver, clock: FakeClock
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}/events"
    endpoint = await hooks.create(events_receiver, url=down)
    path = f"{ENDPOINTS}/{endpoint['id']}"
    task = await hooks.task()
    dispatcher = hooks.dispatcher(clock)
    deliveries = await hooks.deliveries(endpoint["id"])

    async def relayed() -> bool:
        nonlocal deliveries
        deliveries = await hooks.deliveries(endpoint["id"])
        return len(deliveries) == 1 and deliveries[0].attempts == 1

    await deliver_until(dispatcher, relayed)  # the receiver is down: connection refused
    first_failure = clock.at
    shown = await hooks.get(path)
    assert shown["failingSince"] == format_timestamp(first_failure)
    assert shown["enabled"] is True

    patched = await hooks.client.patch(path, headers=hooks.admin, json={"url": events_receiver.url})
    assert patched.status_code == 200, patched.text
    events_receiver.answer = _unavailable  # back, but answering 503
    clock.advance(seconds=retry_delay(1, lambda: 0.5).total_seconds() - 1)
    assert await dispatcher.drain() == 0  # not due yet
    clock.advance(seconds=1)
    assert await dispatcher.drain() == 1
    clock.advance(seconds=retry_delay(2, lambda: 0.5).total_seconds())
    assert await dispatcher.drain() == 1
    events_receiver.answer = lambda _r: (204, b"")
    clock.advance(seconds=retry_delay(3, lambda: 0.5).total_seconds())
    assert await dispatcher.drain() == 1
    assert await dispatcher.drain() == 0

    [delivery] = (await hooks.get(f"{path}/deliveries"))["data"]
    assert delivery["status"] == "DELIVERED"
    assert delivery["attemptCount"] == 4
    assert [a["outcome"] for a in delivery["attempts"]] == [
        "CONNECTION_ERROR",
        "HTTP_ERROR",
        "HTTP_ERROR",
        "SUCCESS",
    ]
    assert [a["statusCode"] for a in delivery["attempts"]] == [None, 503, 503, 204]
    assert delivery["attempts"][1]["responseBody"] == "down for maintenance"
    one = await hooks.get(f"{path}/deliveries/{delivery['id']}")
    assert one == delivery
    assert (await hooks.get(path))["failingSince"] is None
    assert len({r.webhook_id for r in events_receiver.requests}) == 1
    assert events_receiver.verified(events_receiver.requests[-1])["data"]["subjectId"] == str(
        task.id
    )
    assert events_receiver.forged == []


async def test_five_days_of_failures_disable_the_endpoint(
    hooks: Hooks, events_receiver: SignedReceiver, clock: FakeClock
) -> None:
    events_receiver.answer = _unavailable
    endpoint = await hooks.create(events_receiver)
    path = f"{ENDPOINTS}/{endpoint['id']}"
    dispatcher = hooks.dispatcher(clock)
    started = clock.at
    await hooks.task()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 1))
    hours = 0
    while (await hooks.get(path))["enabled"]:
        assert hours <= 5 * 24 + STEP, "not disabled after five days"
        clock.advance(hours=STEP)
        hours += STEP
        if hours % 12 == 0:  # new events keep the endpoint being tried
            await hooks.task()
            relayed = functools.partial(_relayed, hooks, endpoint["id"], 1 + hours // 12)
            await deliver_until(dispatcher, relayed)
        else:
            await dispatcher.drain()
    assert clock.at - started >= timedelta(days=5)
    assert clock.at - started <= timedelta(days=5, hours=STEP)

    shown = await hooks.get(path)
    assert shown["enabled"] is False
    assert shown["disabledAt"] == format_timestamp(clock.at)
    reason = shown["disabledReason"]
    assert f"every attempt failed since {format_timestamp(started)}" in reason
    assert "endpoint answered 503" in reason
    statuses = {d.status for d in await hooks.deliveries(endpoint["id"])}
    assert "PENDING" not in statuses
    assert "CANCELED" in statuses
    [entry] = await hooks.audit("event_endpoint.auto_disabled")
    assert (entry.actor_type, entry.actor_label) == ("system", "dispatcher")
    assert entry.changes["after"]["enabled"] is False

    sent = len(events_receiver.requests)
    await hooks.task()
    clock.advance(days=1)
    assert await dispatcher.drain() == 0
    assert len(events_receiver.requests) == sent
    assert events_receiver.forged == []


async def _has_requests(receiver: SignedReceiver, count: int) -> bool:
    return len(receiver.requests) >= count


async def _relayed(hooks: Hooks, endpoint_id: str, expected: int) -> bool:
    """The new event has its delivery (or a failure has just disabled the endpoint)."""
    if len(await hooks.deliveries(endpoint_id)) >= expected:
        return True
    return not (await hooks.get(f"{ENDPOINTS}/{endpoint_id}"))["enabled"]


async def test_a_delivery_gives_up_after_the_last_attempt_a_day_later(
    hooks: Hooks, events_receiver: SignedReceiver, clock: FakeClock
) -> None:
    events_receiver.answer = _unavailable
    endpoint = await hooks.create(events_receiver)
    dispatcher = hooks.dispatcher(clock)
    await hooks.task()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 1))
    [delivery] = await hooks.deliveries(endpoint["id"])
    while delivery.status == "PENDING":
        assert delivery.attempts < MAX_ATTEMPTS
        clock.at = delivery.next_attempt_at  # each retry exactly when it is due
        assert await dispatcher.drain() == 1
        [delivery] = await hooks.deliveries(endpoint["id"])
    assert (delivery.status, delivery.attempts) == ("FAILED", MAX_ATTEMPTS)
    assert len(events_receiver.requests) == MAX_ATTEMPTS
    log = await hooks.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", status="FAILED")
    attempts = log["data"][0]["attempts"]
    assert len(attempts) == MAX_ATTEMPTS
    span = parse_aware(attempts[-1]["attemptedAt"]) - parse_aware(attempts[0]["attemptedAt"])
    assert timedelta(days=1) <= span < timedelta(days=1, hours=1)
    assert (await hooks.get(f"{ENDPOINTS}/{endpoint['id']}"))["enabled"] is True


async def test_only_the_chosen_types_are_sent(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver, event_types=["result_type.created"])
    assert endpoint["eventTypes"] == ["result_type.created"]
    await hooks.task()
    async with session_scope(hooks.factory) as session:
        await result_types.create(
            session, hooks.tenant_id, ResultTypeCreate(code="CALL_BACK", label="Llamar")
        )
    await hooks.task()
    dispatcher = hooks.dispatcher()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 1))
    left_out = await hooks.task()
    # Once the feed shows it, no relay can still be held back from it (PostgreSQL's horizon
    # only moves forward): this drain passes it, and the filter leaves it out.
    await hooks.until_in_feed(left_out.id)
    await dispatcher.drain()
    assert [b["type"] for b in events_receiver.bodies()] == ["result_type.created"]
    assert events_receiver.bodies()[0]["data"]["data"]["code"] == "CALL_BACK"

    widened = await hooks.client.patch(
        f"{ENDPOINTS}/{endpoint['id']}",
        headers=hooks.admin,
        json={"event_types": ["task.created", "task.created"]},
    )
    assert widened.json()["eventTypes"] == ["task.created"]
    await hooks.task()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 2))
    assert [b["type"] for b in events_receiver.bodies()] == ["result_type.created", "task.created"]


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    hooks: Hooks, events_receiver: SignedReceiver, clock: FakeClock
) -> None:
    endpoint = await hooks.create(events_receiver)
    old = endpoint["signingSecret"]
    path = f"{ENDPOINTS}/{endpoint['id']}"
    rotated = await hooks.client.post(
        f"{path}/rotate-secret", headers=hooks.admin, json={"overlap_seconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["signingSecret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rotated.json()["previousSecretExpiresAt"] is not None
    assert "signingSecret" not in (await hooks.get(path))
    dispatcher = hooks.dispatcher(clock)
    await hooks.task()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 1))
    during = events_receiver.requests[0]
    assert len(during.headers["webhook-signature"].split()) == 2
    assert Webhook(old).verify(during.body, during.headers)
    assert Webhook(new).verify(during.body, during.headers)

    events_receiver.secrets[:] = [new]  # the receiver moves to the new secret
    clock.advance(hours=2)  # the overlap is over: the new secret alone
    await hooks.task()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 2))
    after = events_receiver.requests[1]
    assert len(after.headers["webhook-signature"].split()) == 1
    assert Webhook(new).verify(after.body, after.headers)
    assert events_receiver.forged == []


async def test_redeliver_one_delivery_with_the_same_webhook_id(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver)
    await hooks.task()
    dispatcher = hooks.dispatcher()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 1))
    [delivery] = await hooks.deliveries(endpoint["id"])
    path = f"{ENDPOINTS}/{endpoint['id']}/deliveries/{delivery.id}/redeliver"
    again = await hooks.client.post(path, headers=hooks.admin)
    assert again.status_code == 202, again.text
    assert (again.json()["status"], again.json()["attemptCount"]) == ("PENDING", 0)
    assert len(again.json()["attempts"]) == 1
    assert await dispatcher.drain() == 1
    first, second = events_receiver.requests
    assert first.webhook_id == second.webhook_id == str(delivery.id)
    assert first.json()["data"] == second.json()["data"]
    shown = await hooks.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries/{delivery.id}")
    assert (shown["status"], len(shown["attempts"])) == ("DELIVERED", 2)

    missing = f"{ENDPOINTS}/{endpoint['id']}/deliveries/{uuid.uuid4()}/redeliver"
    assert (await hooks.client.post(missing, headers=hooks.admin)).status_code == 404
    await hooks.client.patch(
        f"{ENDPOINTS}/{endpoint['id']}", headers=hooks.admin, json={"enabled": False}
    )
    refused = await hooks.client.post(path, headers=hooks.admin)
    assert refused.status_code == 409
    assert "is disabled" in refused.json()["message"]


async def test_redeliver_since_recovers_the_gap_of_a_disabled_endpoint(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver)
    path = f"{ENDPOINTS}/{endpoint['id']}"
    since = utcnow()
    start = await hooks.feed_position()
    dispatcher = hooks.dispatcher()
    for _ in range(3):
        await hooks.task()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 3))
    first_ids = {r.webhook_id for r in events_receiver.requests}

    await hooks.client.patch(path, headers=hooks.admin, json={"enabled": False})
    gap = [await hooks.task(), await hooks.task()]
    await dispatcher.drain()
    assert len(events_receiver.requests) == 3
    enabled = await hooks.client.patch(path, headers=hooks.admin, json={"enabled": True})
    assert enabled.json()["enabled"] is True
    assert enabled.json()["disabledReason"] is None

    queued = await hooks.client.post(
        f"{path}/redeliver", headers=hooks.admin, json={"since": since.isoformat()}
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["queued"] >= 3
    feed, _ = await hooks.feed_after(start)
    assert len(feed) == 5

    async def all_again() -> bool:
        ids = [b["data"]["id"] for b in events_receiver.bodies()[3:]]
        return sorted(ids) == sorted(e["id"] for e in feed)

    await deliver_until(dispatcher, all_again)
    again = events_receiver.requests[3:]
    assert first_ids <= {r.webhook_id for r in again}, "a redelivery keeps its webhook-id"
    assert {str(t.id) for t in gap} <= {r.json()["data"]["subjectId"] for r in again}
    assert len(await hooks.deliveries(endpoint["id"])) == 5
    assert events_receiver.forged == []

    later = await hooks.client.post(
        f"{path}/redeliver",
        headers=hooks.admin,
        json={"since": (utcnow() + timedelta(hours=1)).isoformat()},
    )
    assert later.json() == {"queued": 0}


async def test_a_410_disables_the_endpoint_at_once(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    events_receiver.answer = lambda _r: (410, b"gone")
    endpoint = await hooks.create(events_receiver)
    await hooks.task()
    dispatcher = hooks.dispatcher()
    await deliver_until(dispatcher, lambda: _has_requests(events_receiver, 1))
    shown = await hooks.get(f"{ENDPOINTS}/{endpoint['id']}")
    assert (shown["enabled"], shown["disabledReason"]) == (False, "endpoint answered 410 Gone")
    [delivery] = await hooks.deliveries(endpoint["id"])
    assert (delivery.status, delivery.attempts) == ("CANCELED", 1)
    [entry] = await hooks.audit("event_endpoint.auto_disabled")
    assert entry.actor_type == "system"
    await hooks.task()
    assert await dispatcher.drain() == 0
    assert len(events_receiver.requests) == 1
