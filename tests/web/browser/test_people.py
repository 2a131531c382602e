"""In a real browser: editing a commerce and an operator (with a refusal shown in Spanish, by
its field), deactivating and reactivating them, and deactivating a person, whose open panel is
signed out at once. Also the README's screenshots of the commerce edit page and the people page
(only these; ``test_screenshots.py`` takes the others)."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.cli.demo import DEMO_ADMIN_EMAIL, DEMO_SLUG
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.models import Commerce
from taskbridge.tenants import service as tenants
from taskbridge.users import service as users
from tests.factories import World, build_world
from tests.users.support import add_person
from tests.web.browser.support import log_in
from tests.web.browser.test_screenshots import SCREENSHOTS, WIDTHS, _demo


async def _admin_world(factory: async_sessionmaker[AsyncSession]) -> tuple[World, str]:
    world = await build_world(factory)
    admin = await add_person(factory, world.tenant.id, "ADMIN", email="admin@acme.test")
    return world, admin.email


async def test_a_commerce_is_edited_and_deactivated(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, email = await _admin_world(session_factory)
    await log_in(page, live_server, email)
    await page.get_by_role("link", name="Comercios").click()
    await page.get_by_role("link", name="COM-001").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Almacén Don Pedro")

    await page.get_by_label("Nombre").fill("   ")
    await page.get_by_role("button", name="Guardar").click()
    await expect(page.locator("#name-error")).to_have_text("name: debe tener al menos 1 caracteres")
    await expect(page.get_by_label("Nombre")).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("Nombre").fill("Almacén Don Pedro e Hijos")
    await page.get_by_label("RUT").fill("76.123.456-7")
    await page.get_by_role("button", name="Guardar").click()
    await expect(page.get_by_role("status")).to_have_text("Guardado.")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Almacén Don Pedro e Hijos")
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("76.123.456-7")

    await page.get_by_role("button", name="Desactivar").click()
    await expect(facts).to_contain_text("Desactivado")
    await page.get_by_role("button", name="Reactivar").click()
    await expect(facts).to_contain_text("Activo")
    await page.get_by_role("link", name="Volver a la lista").click()
    await expect(page.locator("tbody")).to_contain_text("Almacén Don Pedro e Hijos")


async def test_an_operator_is_edited_and_deactivated(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, email = await _admin_world(session_factory)
    await log_in(page, live_server, email)
    await page.get_by_role("link", name="Operadores").click()
    await page.get_by_role("link", name="OP-17").click()

    await page.get_by_label("Correo").fill("ana.rojas@acme.test")
    await page.get_by_label("Teléfono").fill("+56 9 1234 5678")
    await page.get_by_role("button", name="Guardar").click()
    await expect(page.get_by_role("status")).to_have_text("Guardado.")
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("ana.rojas@acme.test")
    await expect(facts).to_contain_text("+56 9 1234 5678")

    await page.get_by_label("Teléfono").fill("")
    await page.get_by_role("button", name="Guardar").click()
    await expect(page.get_by_role("status")).to_have_text("Guardado.")
    await expect(page.get_by_label("Teléfono")).to_have_value("")

    await page.get_by_role("button", name="Desactivar").click()
    await expect(facts).to_contain_text("Desactivado")
    await expect(page.get_by_role("button", name="Reactivar")).to_be_visible()


async def test_a_deactivated_person_is_signed_out_of_the_panel_at_once(
    browser: Browser,
    page: Page,
    live_server: str,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world, email = await _admin_world(session_factory)
    fde = await add_person(session_factory, world.tenant.id, "FDE", email="fde@acme.test")
    their_context = await browser.new_context(locale="es-CL")
    theirs = await their_context.new_page()
    await log_in(theirs, live_server, fde.email)
    await theirs.goto(f"{live_server}/admin/tasks")
    await expect(theirs.get_by_role("heading", level=1)).to_have_text("Tareas")

    await log_in(page, live_server, email)
    await page.get_by_role("link", name="Usuarios").click()
    row = page.locator("tbody tr", has_text="fde@acme.test")
    await expect(row).to_contain_text("Activo")
    await row.get_by_role("button", name="Desactivar: fde@acme.test").click()
    await expect(page.get_by_role("status")).to_have_text("Desactivado. Se cerraron sus sesiones.")
    await expect(row).to_contain_text("Desactivado")

    await theirs.reload()
    assert theirs.url.startswith(f"{live_server}/admin/login"), theirs.url
    await theirs.get_by_label("Correo").fill(fde.email)
    await theirs.get_by_label("Contraseña").fill("correct horse battery")
    await theirs.get_by_role("button", name="Iniciar sesión").click()
    await expect(theirs.get_by_role("alert")).to_have_text("Correo o contraseña incorrectos")
    await their_context.close()

    await row.get_by_role("button", name="Reactivar: fde@acme.test").click()
    await expect(page.get_by_role("status")).to_have_text("Reactivado.")
    await expect(row).to_contain_text("Activo")


async def test_screenshots_of_the_commerce_edit_and_people_pages(
    browser: Browser,
    live_server: str,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    password, _ = await _demo(session_factory, settings)
    async with session_scope(session_factory) as session:
        tenant_id = (await tenants.get_by_slug(session, DEMO_SLUG)).id
        commerce_id = await session.scalar(
            select(Commerce.id).where(
                Commerce.tenant_id == tenant_id, Commerce.external_id == "COM-001"
            )
        )
    for email, role in [("luis@demo.local", "FDE"), ("marta@demo.local", "VIEWER")]:
        await add_person(session_factory, tenant_id, role, email=email)
    async with session_scope(session_factory) as session:
        marta = await users.get_member_by_email(session, tenant_id, "marta@demo.local")
        await users.set_active(session, tenant_id, marta.user.id, False)
    pages = {"commerce-edit": f"/commerces/{commerce_id}", "people": "/users"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
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
            await page.screenshot(path=SCREENSHOTS / f"{name}-{device}.png", full_page=True)
        await context.close()
    for name in pages:
        for device in WIDTHS:
            assert (SCREENSHOTS / f"{name}-{device}.png").stat().st_size > 0
