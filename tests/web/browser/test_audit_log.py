"""The audit log page in a real browser: the administrator's own changes listed, filtered, and
no secret shown; a viewer has no link to it and is refused."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import build_world
from tests.users.support import add_person
from tests.web.browser.support import log_in


async def test_an_administrator_reads_and_filters_the_audit_log(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN", email="admin@acme.test")
    await log_in(page, live_server, admin.email)
    await page.get_by_role("link", name="Claves API").click()
    await page.get_by_label("Nombre").fill("Auditada")
    await page.get_by_label("VIEW_ACTIVITIES").check()
    await page.get_by_role("button", name="Crear clave").click()
    plaintext = await page.locator("#plaintext-key").input_value()

    await page.get_by_role("link", name="Registro de auditoría").click()
    await expect(page.get_by_role("heading", name="Registro de auditoría")).to_be_visible()
    created = page.locator("tr[data-action='api_key.created']", has_text="Auditada")
    await expect(created).to_contain_text("admin@acme.test")
    await expect(created).to_contain_text("127.0.0.1")
    await expect(page.locator("tr[data-action='auth.signed_in']")).to_contain_text(
        "admin@acme.test"
    )
    assert plaintext not in await page.content()

    await page.get_by_label("Acción").fill("auth.signed_in")
    await page.get_by_role("button", name="Filtrar").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody tr")).to_have_attribute("data-action", "auth.signed_in")


async def test_a_viewer_has_no_audit_log(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    viewer = await add_person(session_factory, world.tenant.id, "VIEWER")
    await log_in(page, live_server, viewer.email)
    nav = page.get_by_role("navigation", name="Navegación principal")
    await expect(nav.get_by_role("link", name="Registro de auditoría")).to_have_count(0)
    response = await page.goto(f"{live_server}/admin/audit")
    assert response is not None
    assert response.status == 403
