"""Screenshots of the main pages at desktop and phone widths, for the README.

Taken on the demo tenant (``taskbridge demo``'s data), so they show what a new user sees.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import Browser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities import service as activities
from taskbridge.activities.status import Channel
from taskbridge.cli.demo import DEMO_ADMIN_EMAIL, set_up_demo
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch import deliveries
from taskbridge.dispatch import service as dispatch
from taskbridge.dispatch.schemas import DispatchConfigCreate, Provider
from taskbridge.kit.time import utcnow
from taskbridge.results import service as results
from taskbridge.results.schemas import ResultStatus, ResultSubmission, TaskResultIn
from tests.web.browser.support import log_in

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
WIDTHS = {"desktop": (1280, 860), "phone": (375, 812)}


async def _demo(factory: async_sessionmaker[AsyncSession], settings: Settings) -> tuple[str, str]:
    """The demo tenant with one result: the admin's password and a task to open."""
    async with session_scope(factory) as session:
        setup = await set_up_demo(session)
        tenant_id = setup.tenant.id
        called = await activities.find_by_idempotency_key(session, tenant_id, "demo-task-3")
        visit = await activities.find_by_idempotency_key(session, tenant_id, "demo-task-1")
        assert called is not None
        assert visit is not None
        await results.submit_result(
            session,
            results.Submitter(tenant_id=tenant_id, actor="screenshots", source="PANEL"),
            ResultSubmission(
                activity_id=called.id,
                commerce_external_id="COM-003",
                occurred_at=utcnow(),
                status=ResultStatus.NOT_EFFECTIVE,
                task_result=TaskResultIn(result="NO_CONTACT", comment="No contesta"),
            ),
        )
    await _dispatching(factory, settings, tenant_id, visit.id, visit.channel)
    return setup.admin_password, str(visit.id)


async def _dispatching(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant_id: uuid.UUID,
    task_id: uuid.UUID,
    channel: str,
) -> None:
    """A MOCK dispatch config for the task's channel and one delivery of it, queued."""
    async with session_scope(factory) as session:
        config = DispatchConfigCreate(channel=Channel(channel), provider=Provider.MOCK)
        await dispatch.create_config(session, tenant_id, config, settings)
        await deliveries.force_dispatch(session, tenant_id, task_id, actor="screenshots")


async def test_screenshots_of_the_main_pages(
    browser: Browser,
    live_server: str,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    password, task_id = await _demo(session_factory, settings)
    pages = {
        "dashboard": "/",
        "result-types": "/result-types",
        "api-keys": "/api-keys",
        "tasks": "/tasks",
        "task": f"/tasks/{task_id}",
        "operator-screen": f"/operate/{task_id}",
        "users": "/users",
        "dispatch-configs": "/dispatch-configs",
        "deliveries": "/deliveries",
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for device, (width, height) in WIDTHS.items():
        context = await browser.new_context(
            viewport={"width": width, "height": height}, locale="es-CL"
        )
        page = await context.new_page()
        await page.goto(f"{live_server}/admin/login")
        await page.screenshot(path=SCREENSHOTS / f"login-{device}.png")
        await log_in(page, live_server, DEMO_ADMIN_EMAIL, password)
        for name, path in pages.items():
            response = await page.goto(f"{live_server}/admin{path}")
            assert response is not None
            assert response.status == 200, name
            if name == "operator-screen":
                await page.get_by_text("Reprogramar visita", exact=True).click()
            await page.screenshot(path=SCREENSHOTS / f"{name}-{device}.png", full_page=True)
        await context.close()
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 2 * (len(pages) + 1)
