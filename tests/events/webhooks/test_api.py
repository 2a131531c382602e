"""``/api/event-endpoints`` as an administrator uses it: strict bodies, the SSRF guard,
permissions, tenant walls, the endpoint cap, and one audit entry per change (never a secret)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from taskbridge.app import create_app
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.event_endpoints.schemas import MAX_ENDPOINTS_PER_TENANT
from taskbridge.models import EventDeliveryAttempt
from tests.events.webhooks.conftest import (
    ENDPOINTS,
    Hooks,
    SignedReceiver,
    deliver_until,
)
from tests.factories import build_world, create_key

URL = "https://crm.example.com/hooks"


async def _count(hooks: Hooks) -> int:
    return int((await hooks.get(ENDPOINTS))["meta"]["total"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "ftp://crm.example.com/hooks"}, "url"),
        ({"url": "https://user:pw@crm.example.com/hooks"}, "url"),
        ({"url": URL, "event_types": ["task.exploded"]}, "event_types"),
        ({"url": URL, "event_types": "task.created"}, "event_types"),
        ({"url": URL, "enabled": "yes"}, "enabled"),
        ({"url": URL, "enabled": None}, "enabled"),
        ({"url": URL, "description": "x" * 501}, "description"),
        ({"url": URL, "secret": "whsec_mine"}, "secret"),
    ],
)
async def test_bad_bodies_are_a_400_naming_the_field_and_change_nothing(
    hooks: Hooks, body: dict[str, Any], field: str
) -> None:
    refused = await hooks.client.post(ENDPOINTS, headers=hooks.admin, json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"].startswith(f"{field}"), refused.json()
    assert await _count(hooks) == 0
    assert await hooks.audit() == []


async def test_bad_changes_are_a_400_naming_the_field_and_change_nothing(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver)
    path = f"{ENDPOINTS}/{endpoint['id']}"
    for body, field in [
        ({"url": None}, "url"),
        ({"event_types": ["nope"]}, "event_types"),
        ({"event_types": None}, "event_types"),
        ({"enabled": 1}, "enabled"),
        ({"cursor_id": 0}, "cursor_id"),
    ]:
        refused = await hooks.client.patch(path, headers=hooks.admin, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["message"].startswith(field), refused.json()
    for body, field in [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-12-01T10:00"}, "since"),
    ]:
        refused = await hooks.client.post(f"{path}/redeliver", headers=hooks.admin, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["message"].startswith(field)
    rotation = await hooks.client.post(
        f"{path}/rotate-secret", headers=hooks.admin, json={"overlap_seconds": -1}
    )
    assert rotation.status_code == 400
    assert rotation.json()["message"].startswith("overlap_seconds")
    listed = await hooks.client.get(
        f"{path}/deliveries", headers=hooks.viewer, params={"status": "LOST"}
    )
    assert listed.status_code == 400
    assert (await hooks.get(path)) == {k: v for k, v in endpoint.items() if k != "signingSecret"}
    assert [e.action for e in await hooks.audit()] == ["event_endpoint.created"]


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
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
    ],
)
async def test_private_addresses_are_refused_unless_allowed(
    hooks: Hooks, strict_client: httpx.AsyncClient, url: str, address: str
) -> None:
    refused = await strict_client.post(ENDPOINTS, headers=hooks.admin, json={"url": url})
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"] == (
        f"url: resolves to a private, loopback or link-local address ({address}); "
        "the platform operator can allow these with TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS=true"
    )
    allowed = await hooks.client.post(ENDPOINTS, headers=hooks.admin, json={"url": url})
    assert allowed.status_code == 201, allowed.text
    patched = await strict_client.patch(
        f"{ENDPOINTS}/{allowed.json()['id']}", headers=hooks.admin, json={"url": url}
    )
    assert patched.status_code == 400
    assert patched.json()["message"].startswith("url: resolves to a private")


async def test_the_dispatcher_refuses_private_endpoints_too(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver)
    await hooks.task()
    dispatcher = hooks.dispatcher(dispatch_allow_private_networks=False)

    async def attempted() -> bool:
        return any(d.attempts for d in await hooks.deliveries(endpoint["id"]))

    await deliver_until(dispatcher, attempted)
    assert events_receiver.requests == []
    [delivery] = (await hooks.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries"))["data"]
    [attempt] = delivery["attempts"]
    assert attempt["outcome"] == "REFUSED"
    assert "127.0.0.1" in attempt["error"]


async def test_permissions(hooks: Hooks, events_receiver: SignedReceiver) -> None:
    endpoint = await hooks.create(events_receiver)
    path = f"{ENDPOINTS}/{endpoint['id']}"
    assert (await hooks.client.get(ENDPOINTS, headers=hooks.viewer)).status_code == 200
    assert (await hooks.client.get(path, headers=hooks.viewer)).status_code == 200
    assert (await hooks.client.get(f"{path}/deliveries", headers=hooks.viewer)).status_code == 200
    changes = [
        ("POST", ENDPOINTS, {"url": URL}),
        ("PATCH", path, {"enabled": False}),
        ("DELETE", path, None),
        ("POST", f"{path}/rotate-secret", None),
        ("POST", f"{path}/redeliver", {"since": "2026-12-01T00:00:00Z"}),
        ("POST", f"{path}/deliveries/{uuid.uuid4()}/redeliver", None),
    ]
    for method, target, body in changes:
        denied = await hooks.client.request(method, target, headers=hooks.viewer, json=body)
        assert denied.status_code == 403, (method, target, denied.text)
        assert denied.json()["requiredPermission"] == "MANAGE_ACTIVITY_CONFIG"
        assert (await hooks.client.request(method, target, json=body)).status_code == 401
    assert (await hooks.get(path))["enabled"] is True
    assert [e.action for e in await hooks.audit()] == ["event_endpoint.created"]


async def test_tenants_are_walls(hooks: Hooks, events_receiver: SignedReceiver) -> None:
    endpoint = await hooks.create(events_receiver)
    await hooks.task()
    await deliver_until(hooks.dispatcher(), lambda: _has(events_receiver))
    [delivery] = await hooks.deliveries(endpoint["id"])
    other = await build_world(hooks.factory, slug="globex")
    async with session_scope(hooks.factory) as session:
        key = await create_key(session, other.tenant.id, *TENANT_KEY_PERMISSIONS, name="b")
    theirs = {"x-api-key": key}
    own = await hooks.client.post(ENDPOINTS, headers=theirs, json={"url": URL})
    assert own.status_code == 201
    own_path = f"{ENDPOINTS}/{own.json()['id']}"

    listed = (await hooks.client.get(ENDPOINTS, headers=theirs)).json()
    assert [e["id"] for e in listed["data"]] == [own.json()["id"]]
    path = f"{ENDPOINTS}/{endpoint['id']}"
    attempts = [
        ("GET", path, None),
        ("PATCH", path, {"enabled": False}),
        ("DELETE", path, None),
        ("POST", f"{path}/rotate-secret", None),
        ("GET", f"{path}/deliveries", None),
        ("GET", f"{path}/deliveries/{delivery.id}", None),
        ("POST", f"{path}/deliveries/{delivery.id}/redeliver", None),
        ("POST", f"{path}/redeliver", {"since": "2026-12-01T00:00:00Z"}),
        ("GET", f"{own_path}/deliveries/{delivery.id}", None),
        ("POST", f"{own_path}/deliveries/{delivery.id}/redeliver", None),
    ]
    for method, target, body in attempts:
        answer = await hooks.client.request(method, target, headers=theirs, json=body)
        assert answer.status_code == 404, (method, target, answer.text)
    mine = await hooks.get(path)
    assert mine["enabled"] is True
    assert mine["previousSecretExpiresAt"] is None
    redelivered = [d for d in await hooks.deliveries(endpoint["id"]) if d.status == "PENDING"]
    assert redelivered == []
    assert len(await hooks.audit()) == 2  # one create per tenant


async def _has(receiver: SignedReceiver) -> bool:
    return bool(receiver.requests)


async def test_a_tenant_has_at_most_twenty_endpoints(hooks: Hooks) -> None:
    for n in range(MAX_ENDPOINTS_PER_TENANT):
        made = await hooks.client.post(ENDPOINTS, headers=hooks.admin, json={"url": f"{URL}/{n}"})
        assert made.status_code == 201
    refused = await hooks.client.post(ENDPOINTS, headers=hooks.admin, json={"url": URL})
    assert refused.status_code == 409
    assert refused.json()["message"] == (
        "A tenant has at most 20 event endpoints; delete one first"
    )
    page = await hooks.get(ENDPOINTS, per_page=5, page=4)
    assert (page["meta"]["total"], len(page["data"])) == (20, 5)


async def test_every_change_is_one_audit_entry_without_secrets(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver, description="CRM", event_types=["task.created"])
    path = f"{ENDPOINTS}/{endpoint['id']}"
    await hooks.task()
    dispatcher = hooks.dispatcher()
    await deliver_until(dispatcher, lambda: _has(events_receiver))
    [delivery] = await hooks.deliveries(endpoint["id"])
    secrets = [endpoint["signingSecret"]]
    steps: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("PATCH", path, {"description": "CRM (prod)", "event_types": []}, 200),
        ("PATCH", path, {"description": "CRM (prod)"}, 200),  # no change: no entry
        ("PATCH", path, {"enabled": False}, 200),
        ("PATCH", path, {"enabled": True}, 200),
        ("POST", f"{path}/rotate-secret", {"overlap_seconds": 60}, 200),
        ("POST", f"{path}/deliveries/{delivery.id}/redeliver", None, 202),
        ("POST", f"{path}/redeliver", {"since": "2026-01-01T00:00:00Z"}, 202),
        ("DELETE", path, None, 204),
    ]
    for method, target, body, status in steps:
        answer = await hooks.client.request(method, target, headers=hooks.admin, json=body)
        assert answer.status_code == status, (target, answer.text)
        if "signingSecret" in answer.text:
            secrets.append(answer.json()["signingSecret"])
    entries = await hooks.audit()
    assert [e.action for e in entries] == [
        "event_endpoint.created",
        "event_endpoint.updated",
        "event_endpoint.disabled",
        "event_endpoint.enabled",
        "event_endpoint.secret_rotated",
        "event_endpoint.redelivered",
        "event_endpoint.redelivered",
        "event_endpoint.deleted",
    ]
    assert {e.target_id for e in entries} == {endpoint["id"]}
    assert {e.actor_type for e in entries} == {"api_key"}
    assert entries[1].changes == {
        "before": {"description": "CRM", "event_types": ["task.created"]},
        "after": {"description": "CRM (prod)", "event_types": []},
    }
    assert entries[2].changes["after"]["disabled_reason"] == "disabled by an administrator"
    text = str([e.changes for e in entries])
    assert len(secrets) == 2
    assert not any(secret in text for secret in secrets)
    assert "sealed" not in text
    assert await hooks.deliveries(endpoint["id"]) == []  # the log went with the endpoint
    async with session_scope(hooks.factory) as session:
        left = await session.scalars(select(EventDeliveryAttempt))
        assert left.all() == []


async def test_a_new_endpoint_answers_its_secret_once(
    hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    endpoint = await hooks.create(events_receiver)
    assert endpoint["signingSecret"].startswith("whsec_")
    assert endpoint["eventTypes"] == []
    assert endpoint["enabled"] is True
    assert endpoint["failingSince"] is None
    listed = await hooks.client.get(ENDPOINTS, headers=hooks.admin)
    assert endpoint["signingSecret"] not in listed.text
    one = await hooks.client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=hooks.admin)
    assert endpoint["signingSecret"] not in one.text
    off = await hooks.client.post(
        ENDPOINTS, headers=hooks.admin, json={"url": URL, "enabled": False}
    )
    assert off.json()["disabledReason"] == "disabled by an administrator"
