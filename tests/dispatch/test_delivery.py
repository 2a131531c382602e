"""A READY task reaches the endpoint signed, in the list-item shape, and becomes DISPATCHED."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from taskbridge.activities.status import Channel
from taskbridge.db import session_scope
from taskbridge.dispatch.schemas import Provider
from taskbridge.dispatch.signing import generate_signing_secret
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import DispatchConfig
from tests.dispatch.conftest import Pusher, make_config
from tests.dispatch.receiver import Received, Receiver
from tests.factories import create_commerce, create_task, create_tenant

TASKS = "/api/integration/activities/tasks"
SUBMIT = "/api/integration/activity-results/tasks"


async def test_signed_task_created_event_in_the_list_item_shape(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    task = await pusher.task()
    before = (await client.get(f"{TASKS}/{task.id}", headers=pusher.headers)).json()

    assert await pusher.dispatcher().drain() == 1

    [request] = receiver.requests
    [delivery] = await pusher.deliveries(task.id)
    assert request.headers["webhook-id"] == str(delivery.id)
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - utcnow().timestamp()) < 5
    event = Webhook(pusher.secret).verify(request.body, request.headers)
    assert event["type"] == "task.created"
    assert event["timestamp"].endswith("Z")
    assert event["data"] == before
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_signing_secret()).verify(request.body, request.headers)
    tampered = request.body.replace(b"Visita mensual", b"Visita anual")
    with pytest.raises(WebhookVerificationError):
        Webhook(pusher.secret).verify(tampered, request.headers)

    after = (await client.get(f"{TASKS}/{task.id}", headers=pusher.headers)).json()
    assert after["status"] == "IN_PROGRESS"
    assert after["lifecycleStatus"] == "DISPATCHED"
    detail = (await client.get(f"/api/activities/{task.id}", headers=pusher.headers)).json()
    assert detail["internalStatus"] == "DISPATCHED"
    assert detail["dispatchAttempts"] == 1
    assert detail["events"][-1]["toStatus"] == "DISPATCHED"
    assert detail["events"][-1]["actor"] == "dispatcher"


async def test_a_second_delivery_carries_its_own_stable_id(
    pusher: Pusher, receiver: Receiver
) -> None:
    first, second = await pusher.task(), await pusher.task()
    await pusher.dispatcher().drain()
    ids = {r.json()["data"]["id"]: r.webhook_id for r in receiver.requests}
    deliveries = {d.activity_id: d.id for d in await pusher.deliveries()}
    assert ids == {
        str(first.id): str(deliveries[first.id]),
        str(second.id): str(deliveries[second.id]),
    }


async def test_pushed_task_is_completed_by_its_provider_activity_id_alone(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.answer = lambda _r: (200, b'{"provider_activity_id": "crm-4711", "ok": true}')
    task = await pusher.task()
    await pusher.dispatcher().drain()
    assert (await pusher.activity(task.id)).provider_activity_id == "crm-4711"

    body = {
        "provider_activity_id": "crm-4711",
        "commerce_external_id": "COM-001",
        "occurred_at": format_timestamp(utcnow()),
        "status": "EFFECTIVE",
        "task_result": {"result": "SALE_COMPLETED"},
    }
    submitted = await client.post(SUBMIT, headers=pusher.world.headers, json=body)
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["activityId"] == str(task.id)
    item = (await client.get(f"{TASKS}/{task.id}", headers=pusher.headers)).json()
    assert (item["status"], item["providerActivityId"]) == ("COMPLETED", "crm-4711")


async def test_a_provider_id_already_taken_is_not_stored_but_the_task_is_dispatched(
    pusher: Pusher, receiver: Receiver
) -> None:
    owner = await pusher.task(provider_activity_id="crm-1")
    receiver.answer = lambda _r: (200, b'{"provider_activity_id": "crm-1"}')
    task = await pusher.task()
    await pusher.dispatcher().drain()
    pushed = await pusher.activity(task.id)
    assert (pushed.status, pushed.provider_activity_id) == ("DISPATCHED", None)
    attempts = {a.delivery_id: a for a in await pusher.attempts()}
    [delivery] = await pusher.deliveries(task.id)
    assert f"already used by activity {owner.id}" in (attempts[delivery.id].error or "")


async def test_auth_header_is_sent_sealed_at_rest_and_never_returned(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    created = await client.post(
        "/api/dispatch-configs",
        headers=pusher.headers,
        json={
            "channel": "CALLCENTER",
            "provider": "WEBHOOK",
            "endpoint_url": receiver.url,
            "auth_header_name": "X-Api-Key",
            "auth_header_value": "provider-secret-123",
        },
    )
    assert created.status_code == 201, created.text
    assert "provider-secret-123" not in created.text
    assert created.json()["authHeaderName"] == "x-api-key"
    assert created.json()["hasAuthHeaderValue"] is True
    listed = await client.get("/api/dispatch-configs", headers=pusher.headers)
    assert "provider-secret-123" not in listed.text
    async with session_scope(pusher.factory) as session:
        rows = (await session.scalars(select(DispatchConfig))).all()
    stored = json.dumps([[r.auth_header_value_sealed, r.signing_secret_sealed] for r in rows])
    assert "provider-secret-123" not in stored
    assert created.json()["signingSecret"] not in stored

    await pusher.task(channel=Channel.CALLCENTER)
    await pusher.dispatcher().drain()
    [request] = receiver.requests
    assert request.headers["x-api-key"] == "provider-secret-123"
    Webhook(created.json()["signingSecret"]).verify(request.body, request.headers)


async def test_mock_provider_needs_no_network(pusher: Pusher, receiver: Receiver) -> None:
    async with session_scope(pusher.factory) as session:
        tenant = await create_tenant(session, "mockco")
        await create_commerce(session, tenant.id)
    shown = await make_config(
        pusher.factory, pusher.settings, tenant.id, None, provider=Provider.MOCK
    )
    assert shown.config.provider == "MOCK"
    async with session_scope(pusher.factory) as session:
        task = await create_task(session, tenant.id, operator=None)
    await pusher.dispatcher().drain()
    pushed = await pusher.activity(task.id)
    assert pushed.status == "DISPATCHED"
    assert (pushed.provider_activity_id or "").startswith("mock_")
    assert receiver.requests == []


async def test_tasks_of_other_channels_and_pull_mode_tenants_are_not_queued(
    pusher: Pusher, receiver: Receiver
) -> None:
    await pusher.task(channel=Channel.WHATSAPP)
    assert await pusher.deliveries() == []
    assert await pusher.dispatcher().drain() == 0
    assert receiver.requests == []


def _redirect(_request: Received) -> tuple[int, bytes]:
    return 302, b""


async def test_redirects_are_not_followed(pusher: Pusher, receiver: Receiver) -> None:
    receiver.answer = _redirect
    task = await pusher.task()
    await pusher.dispatcher().drain()
    assert [r.path for r in receiver.requests] == ["/hooks"]
    [attempt] = await pusher.attempts()
    assert (attempt.outcome, attempt.status_code) == ("HTTP_ERROR", 302)
    assert "redirects are not followed" in (attempt.error or "")
    assert (await pusher.activity(task.id)).status == "READY"
