"""Event endpoints in a real browser: one created for a loopback receiver (the secret shown
once), an event that reaches it signed, and the delivery with its attempt on the deliveries
page. Also the README's screenshots of the event endpoint pages (only these;
``test_screenshots.py`` takes the others)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from taskbridge.cli.demo import DEMO_ADMIN_EMAIL, DEMO_SLUG
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch.worker import Dispatcher
from taskbridge.event_endpoints import service as event_endpoints
from taskbridge.event_endpoints.schemas import EventEndpointCreate
from taskbridge.kit.time import utcnow
from taskbridge.models import EventDelivery
from taskbridge.tenants import service as tenants
from tests.dispatch.receiver import Receiver, running_receiver
from tests.factories import build_world, create_task
from tests.users.support import add_person
from tests.web.browser.support import log_in
from tests.web.browser.test_screenshots import SCREENSHOTS, WIDTHS, _demo

HANG_GUARD = 20.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on 127.0.0.1, which a test machine's operator allows."""
    return settings.model_copy(update={"dispatch_allow_private_networks": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def _all_delivered(factory: async_sessionmaker[AsyncSession]) -> bool:
    async with session_scope(factory) as session:
        statuses = list(await session.scalars(select(EventDelivery.status)))
    return bool(statuses) and all(s == "DELIVERED" for s in statuses)


async def _deliver_until(dispatcher: Dispatcher, done: Callable[[], Awaitable[bool]]) -> None:
    """Relay and send until ``done()`` (the deadline is only a hang guard)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_GUARD
    while True:
        await dispatcher.drain()
        if await done():
            return
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.02)


async def test_an_endpoint_is_created_and_its_delivery_seen_with_its_attempt(
    page: Page,
    live_server: str,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN", email="admin@acme.test")
    await log_in(page, live_server, admin.email)
    await page.get_by_role("link", name="Endpoints de eventos").click()
    await expect(page.get_by_role("heading", name="Endpoints de eventos")).to_be_visible()

    await page.get_by_label("URL").fill(receiver.url)
    await page.get_by_label("task.created").check()
    await page.get_by_label("Descripción").fill("CRM")
    await page.get_by_role("button", name="Crear endpoint").click()
    secret = await page.locator("#signing-secret").input_value()
    assert secret.startswith("whsec_")
    await expect(page.get_by_role("status")).to_contain_text("una sola vez")

    await page.get_by_role("link", name="Volver a la lista").click()
    row = page.locator("tbody tr", has_text=receiver.url)
    await expect(row).to_contain_text("task.created")
    await expect(row).to_contain_text("Habilitado")
    assert secret not in await page.content()

    async with session_scope(session_factory) as session:
        task = await create_task(session, world.tenant.id)
    dispatcher = Dispatcher(settings, session_factory, rand=lambda: 0.5)
    try:
        await _deliver_until(dispatcher, lambda: _all_delivered(session_factory))
    finally:
        await dispatcher.shutdown()
    [received] = await receiver.wait_for(1)
    Webhook(secret).verify(received.body, received.headers)
    assert received.json()["type"] == "task.created"
    assert received.json()["data"]["subjectId"] == str(task.id)

    await row.get_by_role("link", name="Envíos").click()
    delivery = page.locator(f'tr[data-delivery="{received.webhook_id}"]')
    await expect(delivery).to_have_attribute("data-status", "DELIVERED")
    await expect(delivery).to_contain_text("task.created")
    await delivery.locator("summary").click()
    attempt = delivery.locator('li[data-outcome="SUCCESS"]')
    await expect(attempt).to_be_visible()
    await expect(attempt).to_contain_text("HTTP 200")

    await page.get_by_label("Estado").select_option("PENDING")
    await page.get_by_role("button", name="Filtrar").click()
    await expect(page.locator(f'tr[data-delivery="{received.webhook_id}"]')).to_have_count(0)


async def test_screenshots_of_the_event_endpoint_pages(
    browser: Browser,
    live_server: str,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    receiver: Receiver,
) -> None:
    """The demo tenant with an endpoint that received its events and one disabled after five
    days of failures (the reason shown)."""
    password, _ = await _demo(session_factory, settings)
    async with session_scope(session_factory) as session:
        tenant_id = (await tenants.get_by_slug(session, DEMO_SLUG)).id
        crm = await event_endpoints.create_endpoint(
            session,
            tenant_id,
            EventEndpointCreate(url=receiver.url, description="CRM: every change"),
            settings,
        )
        down = await event_endpoints.create_endpoint(
            session,
            tenant_id,
            EventEndpointCreate(
                url=receiver.url.replace("/hooks", "/warehouse"),
                event_types=["result.recorded", "task.completed"],
                description="Data warehouse",
            ),
            settings,
        )
    async with session_scope(session_factory) as session:
        since = utcnow() - timedelta(hours=1)
        await event_endpoints.redeliver_since(session, tenant_id, crm.endpoint.id, since)
        endpoint = await event_endpoints.get_endpoint(
            session, tenant_id, down.endpoint.id, for_update=True
        )
        endpoint.failing_since = utcnow() - timedelta(days=5, minutes=5)
        await event_endpoints.auto_disable(session, endpoint, "HTTP 503", utcnow())
    dispatcher = Dispatcher(settings, session_factory, rand=lambda: 0.5)
    try:
        await _deliver_until(dispatcher, lambda: _all_delivered(session_factory))
    finally:
        await dispatcher.shutdown()

    pages = {
        "event-endpoints": "/event-endpoints",
        "event-deliveries": f"/event-endpoints/{crm.endpoint.id}/deliveries",
    }
    for device, (width, height) in WIDTHS.items():
        context = await browser.new_context(
            viewport={"width": width, "height": height}, locale="es-CL"
        )
        page = await context.new_page()
        await log_in(page, live_server, DEMO_ADMIN_EMAIL, password)
        for name, path in pages.items():
            response = await page.goto(f"{live_server}/admin{path}")
            assert response is not None
            assert response.status == 200, name
            if name == "event-deliveries":
                await page.locator("tbody tr summary").first.click()
                await page.locator(".table-wrap").evaluate("wrap => { wrap.scrollLeft = 0 }")
            await page.screenshot(path=SCREENSHOTS / f"{name}-{device}.png", full_page=True)
        await context.close()
