"""Event endpoints and their deliveries in the panel, over HTTP: the same service (and audit
rows) as ``/api/event-endpoints``, the signing secret shown once, why an endpoint is disabled,
service refusals in the person's language, CSRF, roles and tenant walls."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch.worker import Dispatcher
from taskbridge.event_endpoints import service as event_endpoints
from taskbridge.event_endpoints.schemas import MAX_ENDPOINTS_PER_TENANT, EventEndpointCreate
from taskbridge.kit.time import utcnow
from taskbridge.models import AuditEntry, EventDelivery, EventEndpoint
from tests.dispatch.receiver import Receiver, running_receiver
from tests.factories import World, build_world, create_task
from tests.users.support import PASSWORD, add_person
from tests.web.support import csrf_of, post_form, sign_in

ENDPOINTS = "/admin/event-endpoints"
SECRET = re.compile(r'id="signing-secret" readonly value="(whsec_[^"]+)"')
HANG_GUARD = 20.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback endpoints allowed, as on a test machine (``strict_client`` refuses them)."""
    return settings.model_copy(update={"dispatch_allow_private_networks": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed, on the same database: private networks refused."""
    app: FastAPI = create_app(
        settings.model_copy(update={"dispatch_allow_private_networks": False})
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.engine.dispose()


async def _admin(
    factory: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, locale: str = "es"
) -> tuple[World, str]:
    world = await build_world(factory, locale=locale)
    admin = await add_person(factory, world.tenant.id, "ADMIN")
    await sign_in(client, admin.email, PASSWORD)
    return world, admin.email


async def _create(
    client: httpx.AsyncClient, url: str, types: tuple[str, ...] = (), description: str = ""
) -> httpx.Response:
    page = await client.get(ENDPOINTS)
    form = {
        "csrf_token": csrf_of(page),
        "url": url,
        "event_types": list(types),
        "description": description,
    }
    return await client.post(ENDPOINTS, data=form)


async def _endpoints(factory: async_sessionmaker[AsyncSession]) -> list[EventEndpoint]:
    async with session_scope(factory) as session:
        rows = await session.scalars(select(EventEndpoint).order_by(EventEndpoint.created_at))
        return list(rows.all())


async def _actions(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_scope(factory) as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "event_endpoint")
            .order_by(AuditEntry.occurred_at, AuditEntry.id)
        )
        return list(rows.all())


async def _deliver_until(dispatcher: Dispatcher, done: Callable[[], Awaitable[bool]]) -> None:
    """Relay and send until ``done()``: on PostgreSQL a transaction open elsewhere holds new
    events back from the relay until it ends, so drain again; the deadline is a hang guard."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_GUARD
    while True:
        await dispatcher.drain()
        if await done():
            return
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.02)


async def test_create_shows_the_secret_once_then_edit_rotate_disable_enable_delete(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, email = await _admin(session_factory, client)
    created = await _create(
        client, "http://127.0.0.1:9/events", ("task.created", "result.recorded"), "CRM"
    )
    assert created.status_code == 200, created.text
    found = SECRET.search(created.text)
    assert found, created.text
    secret = found.group(1)
    assert "Este secreto se muestra una sola vez" in created.text
    [endpoint] = await _endpoints(session_factory)
    assert endpoint.url == "http://127.0.0.1:9/events"
    assert endpoint.event_types == ["task.created", "result.recorded"]
    assert endpoint.description == "CRM"
    assert secret not in endpoint.signing_secret_sealed

    edit = f"{ENDPOINTS}/{endpoint.id}"
    listing = await client.get(ENDPOINTS)
    assert listing.status_code == 200
    assert f'data-endpoint="{endpoint.id}" data-enabled="true"' in listing.text
    assert "<code>task.created</code>, <code>result.recorded</code>" in listing.text
    for path in (ENDPOINTS, edit, f"{edit}/deliveries", f"{edit}/delete"):
        shown = await client.get(path)
        assert shown.status_code == 200, path
        assert secret not in shown.text, path
        assert "whsec_" not in shown.text, path

    form = {
        "csrf_token": csrf_of(await client.get(edit)),
        "url": "http://127.0.0.1:9/v2",
        "event_types": ["task.canceled"],
        "description": "",
    }
    saved = await client.post(edit, data=form)
    assert saved.status_code == 303
    assert "Guardado." in (await client.get(saved.headers["location"])).text
    [endpoint] = await _endpoints(session_factory)
    assert (endpoint.url, endpoint.event_types, endpoint.description) == (
        "http://127.0.0.1:9/v2",
        ["task.canceled"],
        None,
    )

    rotated = await post_form(client, edit, f"{edit}/rotate", {"overlap_seconds": "3600"})
    assert rotated.status_code == 200, rotated.text
    new = SECRET.search(rotated.text)
    assert new
    assert new.group(1) != secret
    assert secret not in rotated.text
    assert "El secreto anterior también firma hasta" in rotated.text
    assert new.group(1) not in (await client.get(edit)).text

    stopped = await post_form(client, ENDPOINTS, f"{edit}/disable")
    assert stopped.status_code == 303
    after = await client.get(stopped.headers["location"])
    assert "Endpoint deshabilitado." in after.text
    assert f'data-endpoint="{endpoint.id}" data-enabled="false"' in after.text
    assert "deshabilitado por un administrador" in after.text  # why, in the person's language
    started = await post_form(client, ENDPOINTS, f"{edit}/enable")
    assert started.status_code == 303
    assert "Endpoint habilitado." in (await client.get(started.headers["location"])).text
    assert (await _endpoints(session_factory))[0].enabled

    confirm = await client.get(f"{edit}/delete")
    assert "¿Eliminar este endpoint y su registro de envíos?" in confirm.text
    deleted = await post_form(client, f"{edit}/delete", f"{edit}/delete")
    assert deleted.status_code == 303
    assert "Endpoint eliminado." in (await client.get(deleted.headers["location"])).text
    assert await _endpoints(session_factory) == []
    assert (await client.get(edit)).status_code == 404

    assert await _actions(session_factory) == [
        "event_endpoint.created",
        "event_endpoint.updated",
        "event_endpoint.secret_rotated",
        "event_endpoint.disabled",
        "event_endpoint.enabled",
        "event_endpoint.deleted",
    ]
    async with session_scope(session_factory) as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    mine = [e for e in entries if e.target_type == "event_endpoint"]
    assert {(e.actor_type, e.actor_label) for e in mine} == {("user", email)}
    assert all(secret not in str(e.changes) and new.group(1) not in str(e.changes) for e in mine)


async def test_private_urls_are_refused_on_the_page_in_the_persons_language(
    strict_client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _admin(session_factory, strict_client)
    message = (
        "apunta a una dirección privada, de loopback o de enlace local (10.0.0.1); el operador "
        "de la plataforma puede permitirlas con TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS=true"
    )
    refused = await _create(strict_client, "http://10.0.0.1/hooks", ("task.created",), "x")
    assert refused.status_code == 400
    assert '<p class="field-error" id="url-error" role="alert">url: ' + message in refused.text
    assert 'value="http://10.0.0.1/hooks"' in refused.text  # the form kept, types checked too
    assert 'value="task.created" checked' in refused.text
    assert await _endpoints(session_factory) == []

    bad_type = await _create(strict_client, "https://example.com/h", ("task.exploded",))
    assert bad_type.status_code == 400
    shown = '<p class="field-error" id="event_types-error" role="alert">event_types.0: debe ser'
    assert f"{shown} uno de task.created" in bad_type.text
    assert await _endpoints(session_factory) == []
    assert await _actions(session_factory) == []


async def test_service_refusals_are_shown_in_english_for_an_english_speaker(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    world, _ = await _admin(session_factory, client, locale="en")
    async with session_scope(session_factory) as session:
        for n in range(MAX_ENDPOINTS_PER_TENANT):
            data = EventEndpointCreate(url=f"http://127.0.0.1:9/{n}")
            await event_endpoints.create_endpoint(session, world.tenant.id, data, settings)
    full = await _create(client, "http://127.0.0.1:9/one-more")
    assert full.status_code == 409
    limit = f"A tenant has at most {MAX_ENDPOINTS_PER_TENANT} event endpoints; delete one first"
    assert limit in full.text
    assert "Event endpoints" in full.text  # the English page
    assert len(await _endpoints(session_factory)) == MAX_ENDPOINTS_PER_TENANT

    [first, *_] = await _endpoints(session_factory)
    edit = f"{ENDPOINTS}/{first.id}"
    await post_form(client, ENDPOINTS, f"{edit}/disable")
    since = await post_form(client, edit, f"{edit}/redeliver", {"since": "2026-01-01T08:00"})
    assert since.status_code == 409
    assert f"Event endpoint &#39;{first.id}&#39; is disabled" in since.text
    assert "enable it first" in since.text
    blank = await post_form(client, edit, f"{edit}/redeliver", {"since": ""})
    assert blank.status_code == 400
    assert "since: is required" in blank.text
    assert await _actions(session_factory) == ["event_endpoint.created"] * 20 + [
        "event_endpoint.disabled"
    ]


async def test_the_reason_of_an_automatic_disable_is_shown(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    world, _ = await _admin(session_factory, client)
    async with session_scope(session_factory) as session:
        data = EventEndpointCreate(url="http://127.0.0.1:9/down")
        shown = await event_endpoints.create_endpoint(session, world.tenant.id, data, settings)
        endpoint = await event_endpoints.get_endpoint(
            session, world.tenant.id, shown.endpoint.id, for_update=True
        )
        now = utcnow()
        endpoint.failing_since = now - timedelta(days=5, hours=1)
        await event_endpoints.auto_disable(session, endpoint, "HTTP 503", now)
    listing = await client.get(ENDPOINTS)
    assert f'data-endpoint="{endpoint.id}" data-enabled="false"' in listing.text
    assert "todos los intentos fallaron desde" in listing.text
    assert "(más de 5 días); último error: HTTP 503" in listing.text
    assert "Fallando desde" in listing.text
    edit = await client.get(f"{ENDPOINTS}/{endpoint.id}")
    assert "todos los intentos fallaron desde" in edit.text


async def test_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _admin(session_factory, client)
    refused = await client.post(ENDPOINTS, data={"url": "http://127.0.0.1:9/x"})
    assert refused.status_code == 403
    assert await _endpoints(session_factory) == []
    await _create(client, "http://127.0.0.1:9/x")
    [endpoint] = await _endpoints(session_factory)
    edit = f"{ENDPOINTS}/{endpoint.id}"
    for path in (
        edit,
        f"{edit}/rotate",
        f"{edit}/disable",
        f"{edit}/delete",
        f"{edit}/redeliver",
        f"{edit}/deliveries/{uuid.uuid4()}/redeliver",
    ):
        forged = await client.post(path, data={"csrf_token": "x", "url": "http://127.0.0.1:9/y"})
        assert forged.status_code == 403, path
    [after] = await _endpoints(session_factory)
    assert after.enabled
    assert after.url == "http://127.0.0.1:9/x"
    assert after.signing_secret_sealed == endpoint.signing_secret_sealed
    assert await _actions(session_factory) == ["event_endpoint.created"]


@pytest.mark.parametrize("role", ["VIEWER", "FDE"])
async def test_roles_without_manage_activity_config_only_read(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], role: str
) -> None:
    world, _ = await _admin(session_factory, client)
    await _create(client, "http://127.0.0.1:9/x", ("task.created",))
    [endpoint] = await _endpoints(session_factory)
    await post_form(client, "/admin/", "/admin/logout")

    person = await add_person(session_factory, world.tenant.id, role)
    await sign_in(client, person.email, PASSWORD)
    listing = await client.get(ENDPOINTS)
    assert listing.status_code == 200
    assert 'href="/admin/event-endpoints"' in listing.text  # the nav link
    assert "http://127.0.0.1:9/x" in listing.text
    assert f'action="{ENDPOINTS}"' not in listing.text
    edit = f"{ENDPOINTS}/{endpoint.id}"
    assert f"{edit}/disable" not in listing.text
    deliveries = await client.get(f"{edit}/deliveries")
    assert deliveries.status_code == 200
    token = csrf_of(listing)
    assert (await client.get(edit)).status_code == 403
    assert (await client.get(f"{edit}/delete")).status_code == 403
    for path in (
        ENDPOINTS,
        edit,
        f"{edit}/rotate",
        f"{edit}/disable",
        f"{edit}/delete",
        f"{edit}/redeliver",
        f"{edit}/deliveries/{uuid.uuid4()}/redeliver",
    ):
        refused = await client.post(
            path, data={"csrf_token": token, "url": "http://127.0.0.1:9/y", "since": "2026-01-01"}
        )
        assert refused.status_code == 403, path
    assert len(await _endpoints(session_factory)) == 1
    assert (await _endpoints(session_factory))[0].enabled
    assert await _actions(session_factory) == ["event_endpoint.created"]


async def test_another_tenants_endpoint_and_deliveries_are_not_found(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    other = await build_world(session_factory, "globex")
    async with session_scope(session_factory) as session:
        data = EventEndpointCreate(url="http://127.0.0.1:9/globex-secret-path")
        theirs = await event_endpoints.create_endpoint(session, other.tenant.id, data, settings)
        theirs_id = theirs.endpoint.id
    world, _ = await _admin(session_factory, client)
    await _create(client, "http://127.0.0.1:9/mine")
    assert "globex-secret-path" not in (await client.get(ENDPOINTS)).text
    edit = f"{ENDPOINTS}/{theirs_id}"
    for path in (edit, f"{edit}/deliveries", f"{edit}/delete"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert "globex" not in page.text
    assert "Endpoint de eventos" in (await client.get(edit)).text  # the service's 404, in Spanish
    for path in (
        edit,
        f"{edit}/rotate",
        f"{edit}/disable",
        f"{edit}/enable",
        f"{edit}/delete",
        f"{edit}/redeliver",
        f"{edit}/deliveries/{uuid.uuid4()}/redeliver",
    ):
        refused = await post_form(
            client, ENDPOINTS, path, {"url": "http://127.0.0.1:9/z", "since": "2026-01-01T00:00"}
        )
        assert refused.status_code == 404, path
    async with session_scope(session_factory) as session:
        still = await event_endpoints.get_endpoint(session, other.tenant.id, theirs_id)
        assert still.enabled
        assert still.url == "http://127.0.0.1:9/globex-secret-path"
        assert still.signing_secret_sealed == theirs.endpoint.signing_secret_sealed
    assert await _actions(session_factory) == ["event_endpoint.created"] * 2
    assert world.tenant.id != other.tenant.id


async def test_deliveries_are_listed_with_attempts_filtered_and_redelivered(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    settings: Settings,
) -> None:
    world, _ = await _admin(session_factory, client)
    created = await _create(client, receiver.url, ("task.created",))
    found = SECRET.search(created.text)
    assert found
    [endpoint] = await _endpoints(session_factory)
    async with session_scope(session_factory) as session:
        task = await create_task(session, world.tenant.id)

    async def delivered() -> bool:
        deliveries = await _deliveries(session_factory)
        return len(deliveries) == 1 and deliveries[0].status == "DELIVERED"

    dispatcher = Dispatcher(settings, session_factory, rand=lambda: 0.5)
    page = f"{ENDPOINTS}/{endpoint.id}/deliveries"
    try:
        await _deliver_until(dispatcher, delivered)
        [delivery] = await _deliveries(session_factory)
        listing = await client.get(page)
        assert f'data-delivery="{delivery.id}" data-status="DELIVERED"' in listing.text
        assert "<code>task.created</code>" in listing.text
        assert '<li data-outcome="SUCCESS">' in listing.text
        assert "HTTP 200" in listing.text
        pending = await client.get(f"{page}?status=PENDING")
        assert f'data-delivery="{delivery.id}"' not in pending.text
        assert f'data-delivery="{delivery.id}"' in (await client.get(f"{page}?status=x")).text

        again = await post_form(client, page, f"{page}/{delivery.id}/redeliver")
        assert again.status_code == 303
        shown = await client.get(again.headers["location"])
        assert "Envío en cola para reenviarse." in shown.text
        assert f'data-delivery="{delivery.id}" data-status="PENDING"' in shown.text
        await _deliver_until(dispatcher, delivered)

        edit = f"{ENDPOINTS}/{endpoint.id}"
        local = (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo(world.tenant.time_zone))
        since = local.strftime("%Y-%m-%dT%H:%M")  # typed in the tenant's time zone
        queued = await post_form(client, edit, f"{edit}/redeliver", {"since": since})
        assert queued.status_code == 303
        # the task's event again, and the world's own task.created from before the endpoint
        assert "queued=2" in queued.headers["location"]
        assert (
            "Eventos en cola para reenviarse: 2"
            in (await client.get(queued.headers["location"])).text
        )
        await _deliver_until(dispatcher, _all_delivered(session_factory))

        unknown = await post_form(client, page, f"{page}/{uuid.uuid4()}/redeliver")
        assert unknown.status_code == 404
        assert "Envío de evento" in unknown.text
        await post_form(client, ENDPOINTS, f"{edit}/disable")
        refused = await post_form(client, page, f"{page}/{delivery.id}/redeliver")
        assert refused.status_code == 409
        assert (  # the service's sentence with the reason inside it, both in Spanish
            f"El endpoint de eventos &#39;{endpoint.id}&#39; está deshabilitado "
            "(deshabilitado por un administrador); habilítalo primero"
        ) in refused.text
        assert f'data-delivery="{delivery.id}" data-status="DELIVERED"' in refused.text
    finally:
        await dispatcher.shutdown()
    bodies = await receiver.wait_for(4)
    for received in bodies:
        Webhook(found.group(1)).verify(received.body, received.headers)
        assert received.json()["type"] == "task.created"
    subjects = [received.json()["data"]["subjectId"] for received in bodies]
    assert sorted(subjects) == sorted([str(task.id)] * 3 + [str(world.task.id)])
    assert len(await _deliveries(session_factory)) == 2
    assert await _actions(session_factory) == [
        "event_endpoint.created",
        "event_endpoint.redelivered",
        "event_endpoint.redelivered",
        "event_endpoint.disabled",
    ]


async def _deliveries(factory: async_sessionmaker[AsyncSession]) -> list[EventDelivery]:
    async with session_scope(factory) as session:
        rows = await session.scalars(select(EventDelivery).order_by(EventDelivery.created_at))
        return list(rows.all())


def _all_delivered(factory: async_sessionmaker[AsyncSession]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(d.status == "DELIVERED" for d in await _deliveries(factory))

    return check
