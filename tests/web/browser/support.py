"""What a person does in the panel, step by step."""

from __future__ import annotations

from playwright.async_api import Page

from tests.users.support import PASSWORD


async def log_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base_url}/admin/login")
    await page.get_by_label("Correo").fill(email)
    await page.get_by_label("Contraseña").fill(password)
    await page.get_by_role("button", name="Iniciar sesión").click()
    await page.wait_for_url(f"{base_url}/admin/")
