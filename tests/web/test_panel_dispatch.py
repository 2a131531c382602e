"""Dispatch configs and deliveries in the panel, over HTTP: the same services (and audit rows)
as the REST API, the signing secret shown once, the auth value never, roles and tenant walls."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator

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
from taskbridge.models import AuditEntry, Delivery, DispatchConfig
from tests.dispatch.receiver import Receiver, running_receiver
from tests.factories import World, build_world
from tests.users.support import PASSWORD, add_person
from tests.web.support import csrf_of, post_form, sign_in

CONFIGS = "/admin/dispatch-configs"
SECRET = re.compile(r'id="signing-secret" readonly value="(whsec_[^"]+)"')
AUTH_VALUE = "partner-t0ken-never-shown"


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
    factory: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> tuple[World, str]:
    world = await build_world(factory)
    admin = await add_person(factory, world.tenant.id, "ADMIN")
    await sign_in(client, admin.email, PASSWORD)
    return world, admin.email


async def _create(client: httpx.AsyncClient, url: str, **extra: str) -> httpx.Response:
    form = {"channel": "SALESMAN", "provider": "WEBHOOK", "endpoint_url": url, **extra}
    return await post_form(client, CONFIGS, CONFIGS, form)


async def _configs(factory: async_sessionmaker[AsyncSession]) -> list[DispatchConfig]:
    async with session_scope(factory) as session:
        return list((await session.scalars(select(DispatchConfig))).all())


async def _actions(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_scope(factory) as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "dispatch_config")
            .order_by(AuditEntry.occurred_at, AuditEntry.id)
        )
        return list(rows.all())


async def test_create_shows_the_secret_once_then_test_rotate_and_deactivate(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    _, email = await _admin(session_factory, client)
    created = await _create(
        client, receiver.url, auth_header_name="X-Partner-Token", auth_header_value=AUTH_VALUE
    )
    assert created.status_code == 200, created.text
    found = SECRET.search(created.text)
    assert found, created.text
    secret = found.group(1)
    assert "Este secreto se muestra una sola vez" in created.text
    assert AUTH_VALUE not in created.text
    [config] = await _configs(session_factory)
    assert config.is_active
    assert config.endpoint_url == receiver.url
    assert secret not in config.signing_secret_sealed

    listing = await client.get(CONFIGS)
    assert listing.status_code == 200
    assert receiver.url in listing.text
    assert "x-partner-token" in listing.text
    assert secret not in listing.text
    assert AUTH_VALUE not in listing.text
    edit = await client.get(f"{CONFIGS}/{config.id}")
    assert secret not in edit.text
    assert AUTH_VALUE not in edit.text

    tested = await post_form(client, CONFIGS, f"{CONFIGS}/{config.id}/test")
    assert tested.status_code == 200, tested.text
    assert "El endpoint aceptó la prueba." in tested.text
    [ping] = await receiver.wait_for(1)
    assert ping.headers["x-partner-token"] == AUTH_VALUE
    assert ping.json()["type"] == "ping"
    Webhook(secret).verify(ping.body, ping.headers)
    assert ping.webhook_id in tested.text

    edit_page = f"{CONFIGS}/{config.id}"
    rotated = await post_form(client, edit_page, f"{edit_page}/rotate", {"overlap_seconds": "0"})
    assert rotated.status_code == 200, rotated.text
    found = SECRET.search(rotated.text)
    assert found
    assert found.group(1) != secret
    assert secret not in rotated.text
    assert found.group(1) not in (await client.get(edit_page)).text

    stopped = await post_form(client, CONFIGS, f"{CONFIGS}/{config.id}/deactivate")
    assert stopped.status_code == 303
    after = await client.get(stopped.headers["location"])
    assert "Configuración desactivada." in after.text
    [config] = await _configs(session_factory)
    assert not config.is_active
    assert config.deactivated_reason == "deactivated by an administrator"
    assert await _actions(session_factory) == [
        "dispatch_config.created",
        "dispatch_config.secret_rotated",
        "dispatch_config.deactivated",
    ]
    async with session_scope(session_factory) as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    assert {
        (e.actor_type, e.actor_label) for e in entries if e.target_type == "dispatch_config"
    } == {("user", email)}
    assert all(secret not in str(e.changes) for e in entries)

    again = await post_form(client, CONFIGS, f"{CONFIGS}/{config.id}/activate")
    assert again.status_code == 303
    assert (await _configs(session_factory))[0].is_active


async def test_edit_keeps_the_stored_auth_value_and_service_errors_show_by_the_field(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _admin(session_factory, client)
    await _create(
        client,
        "http://127.0.0.1:9/hooks",
        auth_header_name="x-token",
        auth_header_value=AUTH_VALUE,
    )
    [config] = await _configs(session_factory)
    sealed = config.auth_header_value_sealed
    page = f"{CONFIGS}/{config.id}"
    saved = await post_form(
        client, page, page, {"endpoint_url": "http://127.0.0.1:9/v2", "auth_header_name": "x-token"}
    )
    assert saved.status_code == 303
    [config] = await _configs(session_factory)
    assert config.endpoint_url == "http://127.0.0.1:9/v2"
    assert config.auth_header_value_sealed == sealed

    blank = await post_form(client, page, page, {"endpoint_url": ""})
    assert blank.status_code == 400
    assert 'id="endpoint_url-error"' in blank.text
    assert "es obligatorio para el proveedor WEBHOOK" in blank.text  # the person's language
    bad_header = await post_form(
        client, page, page, {"endpoint_url": "http://127.0.0.1:9/v2", "auth_header_name": "Host"}
    )
    assert bad_header.status_code == 400
    assert "&#39;Host&#39; lo fija taskbridge y no se puede configurar" in bad_header.text
    removed = await post_form(client, page, page, {"endpoint_url": "http://127.0.0.1:9/v2"})
    assert removed.status_code == 303
    [config] = await _configs(session_factory)
    assert config.auth_header_name is None
    assert config.auth_header_value_sealed is None
    assert await _actions(session_factory) == [
        "dispatch_config.created",
        "dispatch_config.updated",
        "dispatch_config.updated",
    ]

    taken = await _create(client, "http://127.0.0.1:9/other")
    assert taken.status_code == 400
    assert 'id="channel-error"' in taken.text
    assert "El canal SALESMAN ya tiene una configuración de despacho activa" in taken.text
    missing = await post_form(
        client, CONFIGS, CONFIGS, {"channel": "EMAIL", "provider": "WEBHOOK", "endpoint_url": ""}
    )
    assert missing.status_code == 400
    assert "es obligatorio para el proveedor WEBHOOK" in missing.text
    assert len(await _configs(session_factory)) == 1


async def test_private_endpoints_are_refused_on_the_page_with_the_services_message(
    strict_client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world, _ = await _admin(session_factory, strict_client)
    message = (  # the service's English, shown in the person's language (Spanish here)
        "apunta a una dirección privada, de loopback o de enlace local (10.0.0.1); el operador "
        "de la plataforma puede permitirlas con TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS=true"
    )
    refused = await _create(strict_client, "http://10.0.0.1/hooks")
    assert refused.status_code == 400
    shown = f'<p class="field-error" id="endpoint_url-error" role="alert">endpoint_url: {message}'
    assert shown in refused.text
    assert message in refused.text
    assert 'value="http://10.0.0.1/hooks"' in refused.text
    assert await _configs(session_factory) == []

    mock = await post_form(
        strict_client, CONFIGS, CONFIGS, {"channel": "SALESMAN", "provider": "MOCK"}
    )
    assert mock.status_code == 200
    [config] = await _configs(session_factory)
    page = f"{CONFIGS}/{config.id}"
    patched = await post_form(strict_client, page, page, {"endpoint_url": "http://10.0.0.1/x"})
    assert patched.status_code == 400
    assert message in patched.text
    assert (await _configs(session_factory))[0].endpoint_url is None
    assert world.tenant.id == config.tenant_id


async def test_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _admin(session_factory, client)
    form = {"channel": "SALESMAN", "provider": "MOCK"}
    refused = await client.post(CONFIGS, data=form)
    assert refused.status_code == 403
    assert await _configs(session_factory) == []
    await post_form(client, CONFIGS, CONFIGS, form)
    [config] = await _configs(session_factory)
    for action in ("deactivate", "rotate", "test"):
        forged = await client.post(f"{CONFIGS}/{config.id}/{action}", data={"csrf_token": "x"})
        assert forged.status_code == 403
    assert (await _configs(session_factory))[0].is_active
    assert await _actions(session_factory) == ["dispatch_config.created"]


@pytest.mark.parametrize("role", ["VIEWER", "FDE"])
async def test_roles_without_manage_activity_config_only_read(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], role: str
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    await sign_in(client, admin.email, PASSWORD)
    await post_form(client, CONFIGS, CONFIGS, {"channel": "SALESMAN", "provider": "MOCK"})
    [config] = await _configs(session_factory)
    await post_form(client, "/admin/", "/admin/logout")

    person = await add_person(session_factory, world.tenant.id, role)
    await sign_in(client, person.email, PASSWORD)
    listing = await client.get(CONFIGS)
    assert listing.status_code == 200
    assert "SALESMAN" in listing.text
    assert f'action="{CONFIGS}"' not in listing.text
    assert f"{CONFIGS}/{config.id}/deactivate" not in listing.text
    token = csrf_of(listing)
    assert (await client.get(f"{CONFIGS}/{config.id}")).status_code == 403
    for path in (CONFIGS, f"{CONFIGS}/{config.id}/deactivate", f"{CONFIGS}/{config.id}/rotate"):
        refused = await client.post(
            path, data={"csrf_token": token, "channel": "EMAIL", "provider": "MOCK"}
        )
        assert refused.status_code == 403, path
    assert len(await _configs(session_factory)) == 1
    assert (await _configs(session_factory))[0].is_active
    deliveries = await client.get("/admin/deliveries")
    assert deliveries.status_code == 200
    task = f"/admin/deliveries/tasks/{world.task.id}/dispatch"
    assert (await client.post(task, data={"csrf_token": token})).status_code == 403


async def test_another_tenants_config_and_deliveries_are_not_found(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    other = await build_world(session_factory, "globex")
    async with session_scope(session_factory) as session:
        theirs = DispatchConfig(
            id=uuid.uuid4(),
            tenant_id=other.tenant.id,
            channel="SALESMAN",
            provider="MOCK",
            is_active=True,
            signing_secret_sealed="sealed",
        )
        session.add(theirs)
    await _admin(session_factory, client)
    assert "globex" not in (await client.get(CONFIGS)).text
    page = await client.get(f"{CONFIGS}/{theirs.id}")
    assert page.status_code == 404
    assert "no encontrada" in page.text
    for action in ("", "/rotate", "/test", "/deactivate", "/activate"):
        refused = await post_form(client, CONFIGS, f"{CONFIGS}/{theirs.id}{action}")
        assert refused.status_code == 404, action
    for path in (
        f"/admin/deliveries/{uuid.uuid4()}/redeliver",
        f"/admin/deliveries/tasks/{other.task.id}/dispatch",
    ):
        assert (await post_form(client, "/admin/deliveries", path)).status_code == 404, path
    [config] = await _configs(session_factory)
    assert config.is_active
    assert config.signing_secret_sealed == "sealed"
    assert await _actions(session_factory) == []


async def test_deliveries_are_listed_filtered_redelivered_and_forced(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    settings: Settings,
) -> None:
    world, _ = await _admin(session_factory, client)
    forced_early = await post_form(
        client, "/admin/deliveries", f"/admin/deliveries/tasks/{world.task.id}/dispatch"
    )
    assert forced_early.status_code == 409
    assert "No hay una configuración de despacho activa para el canal SALESMAN" in forced_early.text

    await _create(client, receiver.url)
    forced = await post_form(
        client, "/admin/deliveries", f"/admin/deliveries/tasks/{world.task.id}/dispatch"
    )
    assert forced.status_code == 303
    listing = await client.get(forced.headers["location"])
    assert "Tarea en cola para enviarse ahora." in listing.text
    async with session_scope(session_factory) as session:
        [delivery] = (await session.scalars(select(Delivery))).all()
    assert f'data-delivery="{delivery.id}" data-status="PENDING"' in listing.text
    none_delivered = await client.get("/admin/deliveries?status=DELIVERED")
    assert f'data-delivery="{delivery.id}"' not in none_delivered.text
    other_task = await client.get(f"/admin/deliveries?task={uuid.uuid4()}")
    assert f'data-delivery="{delivery.id}"' not in other_task.text
    junk = await client.get("/admin/deliveries?task=junk")
    assert junk.status_code == 400
    assert "task: debe ser un id de tarea (un UUID)" in junk.text

    dispatcher = Dispatcher(settings, session_factory)
    try:
        assert await dispatcher.drain() == 1
        sent = await client.get(f"/admin/deliveries?status=DELIVERED&task={world.task.id}")
        assert f'data-delivery="{delivery.id}" data-status="DELIVERED"' in sent.text
        assert '<li data-outcome="SUCCESS">' in sent.text
        assert "HTTP 200" in sent.text

        redelivered = await post_form(
            client, "/admin/deliveries", f"/admin/deliveries/{delivery.id}/redeliver"
        )
        assert redelivered.status_code == 303
        shown = await client.get(redelivered.headers["location"])
        assert "Envío en cola para reenviarse." in shown.text
        assert f'data-delivery="{delivery.id}" data-status="PENDING"' in shown.text
        assert await dispatcher.drain() == 1
    finally:
        await dispatcher.shutdown()
    first, again = await receiver.wait_for(2)
    assert first.webhook_id == again.webhook_id
    async with session_scope(session_factory) as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("activity.dispatch_forced") == 1
    assert actions.count("delivery.redelivered") == 1
