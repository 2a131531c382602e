"""Dispatch configs in a real browser: a config created for a loopback receiver, a signed test
that arrives, a rotation that shows the new secret once, and deactivation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from taskbridge.config import Settings
from tests.dispatch.receiver import Receiver, running_receiver
from tests.factories import build_world
from tests.users.support import add_person
from tests.web.browser.support import log_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on 127.0.0.1, which a test machine's operator allows."""
    return settings.model_copy(update={"dispatch_allow_private_networks": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def test_a_config_is_created_tested_rotated_and_deactivated(
    page: Page,
    live_server: str,
    session_factory: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN", email="admin@acme.test")
    await log_in(page, live_server, admin.email)
    await page.get_by_role("link", name="Despacho").click()
    await expect(page.get_by_role("heading", name="Despacho", exact=True)).to_be_visible()

    await page.get_by_label("Canal").select_option("SALESMAN")
    await page.get_by_label("Proveedor").select_option("WEBHOOK")
    await page.get_by_label("Endpoint").fill(receiver.url)
    await page.get_by_label("Nombre de la cabecera de autenticación").fill("x-partner-token")
    await page.get_by_label("Valor de la cabecera de autenticación").fill("t0k3n-hidden")
    await page.get_by_role("button", name="Crear configuración").click()
    secret = await page.locator("#signing-secret").input_value()
    assert secret.startswith("whsec_")
    await expect(page.get_by_role("status")).to_contain_text("una sola vez")

    await page.get_by_role("link", name="Volver a la lista").click()
    row = page.locator("tbody tr", has_text="SALESMAN")
    await expect(row).to_contain_text(receiver.url)
    content = await page.content()
    assert secret not in content
    assert "t0k3n-hidden" not in content

    await row.get_by_role("button", name="Enviar una prueba").click()
    await expect(page.get_by_role("status")).to_have_text("El endpoint aceptó la prueba.")
    [ping] = await receiver.wait_for(1)
    Webhook(secret).verify(ping.body, ping.headers)
    assert ping.headers["x-partner-token"] == "t0k3n-hidden"
    await expect(page.locator("#webhook-id")).to_have_text(ping.webhook_id)

    await page.get_by_role("link", name="Volver a la lista").click()
    await row.get_by_role("link", name="Editar").click()
    await page.get_by_label("El secreto anterior sigue firmando durante").select_option("0")
    await page.get_by_role("button", name="Rotar el secreto").click()
    rotated = await page.locator("#signing-secret").input_value()
    assert rotated.startswith("whsec_")
    assert rotated != secret

    await page.get_by_role("link", name="Volver a la lista").click()
    await row.get_by_role("button", name="Desactivar").click()
    await expect(page.get_by_role("status")).to_have_text("Configuración desactivada.")
    await expect(row).to_contain_text("Inactiva")
    await expect(row.get_by_role("button", name="Activar")).to_be_visible()
    await expect(row.get_by_role("button", name="Enviar una prueba")).to_have_count(0)
