"""Adding someone who already has an account, in a real browser: the admin copies the link, the
invitee signs in, accepts, and lands on the new tenant's dashboard. Saves the invitee's page as
``docs/screenshots/invitation-{desktop,phone}.png``."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.users import service as users
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person
from tests.web.browser.support import log_in
from tests.web.browser.test_screenshots import SCREENSHOTS, WIDTHS


async def test_an_existing_account_is_invited_and_accepts(
    browser: Browser, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    acme = await build_world(session_factory, slug="acme")
    globex = await build_world(session_factory, slug="globex")
    admin = await add_person(session_factory, acme.tenant.id, "ADMIN", email="admin@acme.test")
    guest = await add_person(session_factory, globex.tenant.id, "FDE", email="ana@globex.test")
    desktop = {"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]}

    hosting = await browser.new_context(viewport=desktop, locale="es-CL")
    await hosting.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = await hosting.new_page()
    await log_in(page, live_server, admin.email)
    await page.get_by_role("link", name="Usuarios").click()
    await page.get_by_label("Correo").fill(guest.email)
    await page.get_by_label("Rol", exact=True).select_option("FDE")
    await page.get_by_role("button", name="Agregar usuario").click()
    await expect(page.get_by_role("status").first).to_contain_text(
        "ana@globex.test ya tiene una cuenta: envíale este enlace"
    )
    await page.get_by_role("button", name="Copiar").click()
    await expect(page.get_by_role("button", name="Copiada")).to_be_visible()
    link = await page.evaluate("navigator.clipboard.readText()")
    assert link == await page.get_by_label("Enlace de invitación").input_value()
    assert link.startswith(f"{live_server}/admin/invitations/tb_inv_")
    await hosting.close()

    invited = await browser.new_context(viewport=desktop, locale="es-CL")
    page = await invited.new_page()
    await page.goto(link)
    assert page.url.startswith(f"{live_server}/admin/login?next=")
    await page.get_by_label("Correo").fill(guest.email)
    await page.get_by_label("Contraseña").fill(PASSWORD)
    await page.get_by_role("button", name="Iniciar sesión").click()
    await page.wait_for_url(link)
    await expect(page.locator("main")).to_contain_text("Acme te invita a unirte como FDE")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for device, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=SCREENSHOTS / f"invitation-{device}.png", full_page=True)
    await page.set_viewport_size(desktop)

    await page.get_by_role("button", name="Aceptar").click()
    await page.wait_for_url(f"{live_server}/admin/")
    await expect(page.get_by_label("Empresa")).to_have_value(str(acme.tenant.id))
    await expect(page.locator(".who .email")).to_contain_text("ana@globex.test · FDE")
    await invited.close()
    async with session_scope(session_factory) as session:
        member = await users.get_member(session, acme.tenant.id, guest.id)
    assert member.role == "FDE"
