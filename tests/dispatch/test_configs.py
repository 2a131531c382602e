"""Dispatch configs over REST: secrets shown once, one active per channel, SSRF guard, rotation."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch import service
from taskbridge.dispatch.sealing import SealBroken
from taskbridge.kit.time import utcnow
from tests.dispatch.conftest import FakeClock, Pusher
from tests.dispatch.receiver import Receiver

CONFIGS = "/api/dispatch-configs"
ANOTHER_SECRET_KEY = SecretStr("another-secret-key-of-at-least-32-bytes")


def _webhook(url: str, channel: str = "CALLCENTER") -> dict[str, str]:
    return {"channel": channel, "provider": "WEBHOOK", "endpoint_url": url}


async def test_secret_is_shown_on_create_only(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    created = await client.post(CONFIGS, headers=pusher.headers, json=_webhook(receiver.url))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["signingSecret"].startswith("whsec_")
    assert Webhook(body["signingSecret"])  # a secret every Standard Webhooks library reads
    assert set(body) == {
        "id",
        "channel",
        "provider",
        "endpointUrl",
        "isActive",
        "deactivatedReason",
        "authHeaderName",
        "hasAuthHeaderValue",
        "previousSecretExpiresAt",
        "createdAt",
        "updatedAt",
        "signingSecret",
    }
    listed = await client.get(CONFIGS, headers=pusher.headers)
    assert listed.status_code == 200
    assert listed.json()["meta"]["total"] == 2
    assert body["signingSecret"] not in listed.text
    assert all("signingSecret" not in c for c in listed.json()["data"])
    one = await client.get(f"{CONFIGS}/{body['id']}", headers=pusher.headers)
    assert "signingSecret" not in one.json()


async def test_one_active_config_per_channel(pusher: Pusher, client: httpx.AsyncClient) -> None:
    second = await client.post(
        CONFIGS, headers=pusher.headers, json={"channel": "SALESMAN", "provider": "MOCK"}
    )
    assert second.status_code == 409
    assert second.json()["existingConfigId"] == str(pusher.config_id)
    off = await client.patch(
        f"{CONFIGS}/{pusher.config_id}", headers=pusher.headers, json={"is_active": False}
    )
    assert off.status_code == 200, off.text
    assert (off.json()["isActive"], off.json()["deactivatedReason"]) == (
        False,
        "deactivated by an administrator",
    )
    mock = await client.post(
        CONFIGS, headers=pusher.headers, json={"channel": "SALESMAN", "provider": "MOCK"}
    )
    assert mock.status_code == 201
    back_on = await client.patch(
        f"{CONFIGS}/{pusher.config_id}", headers=pusher.headers, json={"is_active": True}
    )
    assert back_on.status_code == 409


async def test_deactivating_cancels_pending_deliveries_and_tasks_stay_ready(
    pusher: Pusher, client: httpx.AsyncClient
) -> None:
    task = await pusher.task()
    off = await client.patch(
        f"{CONFIGS}/{pusher.config_id}", headers=pusher.headers, json={"is_active": False}
    )
    assert off.status_code == 200
    [delivery] = await pusher.deliveries(task.id)
    assert delivery.status == "CANCELED"
    assert await pusher.dispatcher().drain() == 0
    assert (await pusher.activity(task.id)).status == "READY"


async def test_delete_keeps_the_delivery_log(pusher: Pusher, client: httpx.AsyncClient) -> None:
    task = await pusher.task()
    deleted = await client.delete(f"{CONFIGS}/{pusher.config_id}", headers=pusher.headers)
    assert deleted.status_code == 204
    assert (
        await client.get(f"{CONFIGS}/{pusher.config_id}", headers=pusher.headers)
    ).status_code == 404
    [delivery] = await pusher.deliveries(task.id)
    assert (delivery.status, delivery.config_id) == ("CANCELED", None)
    log = await client.get("/api/deliveries", headers=pusher.headers)
    assert log.json()["data"][0]["lastError"] == "dispatch config deleted"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "SALESMAN", "provider": "WEBHOOK"}, "endpoint_url"),
        ({**_webhook("ftp://example.com/x")}, "endpoint_url"),
        ({**_webhook("http://user:pw@127.0.0.1/x")}, "endpoint_url"),
        ({**_webhook("http://127.0.0.1/x"), "auth_header_name": "x-api-key"}, "auth_header_value"),
        ({**_webhook("http://127.0.0.1/x"), "auth_header_value": "v"}, "auth_header_name"),
        (
            {
                **_webhook("http://127.0.0.1/x"),
                "auth_header_name": "webhook-id",
                "auth_header_value": "v",
            },
            "auth_header_name",
        ),
        (
            {
                **_webhook("http://127.0.0.1/x"),
                "auth_header_name": "x-a",
                "auth_header_value": "a\r\nb",
            },
            "auth_header_value",
        ),
        ({"channel": "FAX", "provider": "MOCK"}, "channel"),
        ({"channel": "SMS", "provider": "MOCK", "signing_secret": "whsec_x"}, "signing_secret"),
    ],
)
async def test_invalid_configs_are_a_400_naming_the_field(
    pusher: Pusher, client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    refused = await client.post(CONFIGS, headers=pusher.headers, json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"].startswith(f"{field}: ")


@pytest.fixture
async def strict_client(settings: Settings) -> httpx.AsyncClient:
    strict = settings.model_copy(update={"dispatch_allow_private_networks": False})
    app: FastAPI = create_app(strict)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.engine.dispose()


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://10.0.0.1/hooks", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://localhost:8080/hooks", "127.0.0.1"),
        ("https://[::1]/hooks", "::1"),
        ("http://192.168.1.20/hooks", "192.168.1.20"),
        ("http://[::ffff:10.1.2.3]/hooks", "::ffff:a01:203"),
    ],
)
async def test_private_addresses_are_refused_unless_allowed(
    pusher: Pusher,
    strict_client: httpx.AsyncClient,
    client: httpx.AsyncClient,
    url: str,
    address: str,
) -> None:
    refused = await strict_client.post(CONFIGS, headers=pusher.headers, json=_webhook(url))
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"] == (
        f"endpoint_url: resolves to a private, loopback or link-local address ({address}); "
        "the platform operator can allow these with TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS=true"
    )
    patched = await strict_client.patch(
        f"{CONFIGS}/{pusher.config_id}", headers=pusher.headers, json={"endpoint_url": url}
    )
    assert patched.status_code == 400
    allowed = await client.post(CONFIGS, headers=pusher.headers, json=_webhook(url))
    assert allowed.status_code == 201, allowed.text


async def test_the_dispatcher_refuses_private_endpoints_too(
    pusher: Pusher, receiver: Receiver
) -> None:
    task = await pusher.task()
    await pusher.dispatcher(dispatch_allow_private_networks=False).drain()
    assert receiver.requests == []
    [attempt] = await pusher.attempts()
    assert attempt.outcome == "REFUSED"
    assert "127.0.0.1" in (attempt.error or "")
    assert (await pusher.activity(task.id)).status == "READY"


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    rotated = await client.post(
        f"{CONFIGS}/{pusher.config_id}/rotate-secret",
        headers=pusher.headers,
        json={"overlap_seconds": 3600},
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["signingSecret"]
    assert new_secret != pusher.secret
    assert rotated.json()["previousSecretExpiresAt"] is not None

    await pusher.task()
    await pusher.dispatcher().drain()
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(pusher.secret).verify(request.body, request.headers)
    Webhook(new_secret).verify(request.body, request.headers)

    clock = FakeClock(utcnow() + timedelta(hours=1, seconds=1))
    await pusher.task()
    await pusher.dispatcher(clock).drain()
    later = receiver.requests[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(later.body, later.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(pusher.secret).verify(later.body, later.headers)


async def test_rotation_without_overlap_drops_the_old_secret_at_once(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    rotated = await client.post(
        f"{CONFIGS}/{pusher.config_id}/rotate-secret",
        headers=pusher.headers,
        json={"overlap_seconds": 0},
    )
    assert rotated.json()["previousSecretExpiresAt"] is None
    await pusher.task()
    await pusher.dispatcher().drain()
    [request] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(pusher.secret).verify(request.body, request.headers)
    Webhook(rotated.json()["signingSecret"]).verify(request.body, request.headers)
    empty_body = await client.post(
        f"{CONFIGS}/{pusher.config_id}/rotate-secret", headers=pusher.headers
    )
    assert empty_body.status_code == 200
    too_long = await client.post(
        f"{CONFIGS}/{pusher.config_id}/rotate-secret",
        headers=pusher.headers,
        json={"overlap_seconds": 10**9},
    )
    assert too_long.status_code == 400


async def test_test_event_is_a_signed_ping(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    tested = await client.post(f"{CONFIGS}/{pusher.config_id}/test", headers=pusher.headers)
    assert tested.status_code == 200, tested.text
    body = tested.json()
    assert (body["success"], body["statusCode"], body["outcome"]) == (True, 200, "SUCCESS")
    [request] = receiver.requests
    assert request.webhook_id == body["webhookId"]
    event = Webhook(pusher.secret).verify(request.body, request.headers)
    assert event["type"] == "ping"
    assert event["data"] == {"dispatchConfigId": str(pusher.config_id), "channel": "SALESMAN"}
    assert await pusher.deliveries() == []

    receiver.answer = lambda _r: (503, b"down for maintenance")
    failed = (
        await client.post(f"{CONFIGS}/{pusher.config_id}/test", headers=pusher.headers)
    ).json()
    assert (failed["success"], failed["statusCode"], failed["responseBody"]) == (
        False,
        503,
        "down for maintenance",
    )


async def test_auth_header_can_be_changed_and_removed(
    pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    url = f"{CONFIGS}/{pusher.config_id}"
    only_name = await client.patch(url, headers=pusher.headers, json={"auth_header_name": "x-k"})
    assert only_name.status_code == 400
    assert only_name.json()["message"].startswith("auth_header_value: ")
    both = await client.patch(
        url, headers=pusher.headers, json={"auth_header_name": "x-k", "auth_header_value": "v1"}
    )
    assert (both.json()["authHeaderName"], both.json()["hasAuthHeaderValue"]) == ("x-k", True)
    renamed = await client.patch(url, headers=pusher.headers, json={"auth_header_name": "x-key"})
    assert renamed.status_code == 200
    await pusher.task()
    await pusher.dispatcher().drain()
    assert receiver.requests[0].headers["x-key"] == "v1"
    removed = await client.patch(url, headers=pusher.headers, json={"auth_header_name": None})
    assert (removed.json()["authHeaderName"], removed.json()["hasAuthHeaderValue"]) == (None, False)


async def test_a_sealed_secret_does_not_open_under_another_key(pusher: Pusher) -> None:
    other = pusher.settings.model_copy(update={"secret_key": ANOTHER_SECRET_KEY})
    async with session_scope(pusher.factory) as session:
        config = await service.get_config(session, pusher.tenant_id, pusher.config_id)
    with pytest.raises(SealBroken):
        service.target_of(config, other, utcnow())
    assert service.target_of(config, pusher.settings, utcnow()).signing_secrets == (pusher.secret,)


async def test_a_changed_secret_key_fails_attempts_instead_of_blocking_the_queue(
    pusher: Pusher, receiver: Receiver
) -> None:
    task = await pusher.task()
    other = {"secret_key": ANOTHER_SECRET_KEY}
    assert await pusher.dispatcher(**other).drain() == 1
    assert receiver.requests == []
    [attempt] = await pusher.attempts()
    assert attempt.outcome == "REFUSED"
    assert "TASKBRIDGE_SECRET_KEY" in (attempt.error or "")
    [delivery] = await pusher.deliveries(task.id)
    assert (delivery.status, delivery.attempts) == ("PENDING", 1)


async def test_permissions(pusher: Pusher, client: httpx.AsyncClient) -> None:
    viewer = pusher.world.headers  # VIEW_ACTIVITIES and SUBMIT_ACTIVITY_RESULT only
    assert (await client.get(CONFIGS, headers=viewer)).status_code == 200
    assert (await client.get("/api/deliveries", headers=viewer)).status_code == 200
    denied = await client.post(CONFIGS, headers=viewer, json={"channel": "SMS", "provider": "MOCK"})
    assert (denied.status_code, denied.json()["requiredPermission"]) == (
        403,
        "MANAGE_ACTIVITY_CONFIG",
    )
    task = await pusher.task()
    forced = await client.post(f"/api/activities/tasks/{task.id}/dispatch", headers=viewer)
    assert (forced.status_code, forced.json()["requiredPermission"]) == (403, "DISPATCH_ACTIVITY")
    assert (await client.post(CONFIGS, json={})).status_code == 401
