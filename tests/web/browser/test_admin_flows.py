"""The issue's "done when", in a real browser: every step as a person takes it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.kit.time import utcnow
from tests.factories import World, build_world
from tests.users.support import add_person
from tests.web.browser.support import log_in

PAGES = [
    "/",
    "/result-types",
    "/api-keys",
    "/dispatch-configs",
    "/deliveries",
    "/event-endpoints",
    "/commerces",
    "/operators",
    "/tasks",
    "/results",
    "/users",
    "/operate",
]


async def _admin_world(factory: async_sessionmaker[AsyncSession]) -> tuple[World, str]:
    world = await build_world(factory)
    admin = await add_person(factory, world.tenant.id, "ADMIN", email="admin@acme.test")
    return world, admin.email


async def test_result_types_create_reorder_and_archive(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, email = await _admin_world(session_factory)
    await log_in(page, live_server, email)
    await page.get_by_role("link", name="Tipos de resultado").click()

    await page.get_by_label("Código").fill("CALL_BACK")
    await page.get_by_label("Etiqueta", exact=True).fill("Volver a llamar")
    await page.get_by_label("Etiqueta en inglés").fill("Call back")
    await page.get_by_role("button", name="Agregar").click()
    await expect(page.get_by_role("status")).to_have_text("Guardado.")
    rows = page.locator("tbody tr")
    await expect(rows.nth(4)).to_contain_text("Volver a llamar")

    await page.get_by_role("button", name="Subir: Volver a llamar").click()
    await expect(rows.nth(3)).to_contain_text("Volver a llamar")
    await expect(rows.nth(4)).to_contain_text("Sin contacto")

    await page.locator("tr[data-code='CALL_BACK']").get_by_role("button", name="Archivar").click()
    archived = page.locator("tr[data-code='CALL_BACK']")
    await expect(archived).to_contain_text("Archivado")
    await expect(archived.get_by_role("button", name="Restaurar")).to_be_visible()
    await expect(rows.nth(3)).to_contain_text("Sin contacto")

    await page.get_by_label("Código").fill("BLANK")
    await page.get_by_label("Etiqueta", exact=True).fill("   ")
    await page.get_by_role("button", name="Agregar").click()
    await expect(page.locator("#label-error")).to_have_text("label: no puede estar en blanco")


async def test_an_api_key_is_shown_exactly_once(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, email = await _admin_world(session_factory)
    await log_in(page, live_server, email)
    await page.get_by_role("link", name="Claves API").click()
    await page.get_by_label("Nombre").fill("Integración CRM")
    await page.get_by_label("VIEW_ACTIVITIES").check()
    await page.get_by_label("SUBMIT_ACTIVITY_RESULT").check()
    await page.get_by_role("button", name="Crear clave").click()

    shown = page.locator("#plaintext-key")
    plaintext = await shown.input_value()
    assert plaintext.startswith("tb_sk_")
    await page.get_by_role("button", name="Copiar").click()
    await expect(page.get_by_role("button", name="Copiada")).to_be_visible()

    await page.get_by_role("link", name="Volver a la lista").click()
    row = page.locator("tbody tr", has_text="Integración CRM")
    await expect(row).to_contain_text(plaintext[:14])
    await expect(row).to_contain_text("SUBMIT_ACTIVITY_RESULT, VIEW_ACTIVITIES")
    await expect(row).to_contain_text("Nunca")
    assert plaintext not in await page.content()
    await page.go_back()
    assert plaintext not in await page.content()

    await page.goto(f"{live_server}/admin/api-keys")
    await row.get_by_role("link", name="Revocar").click()
    await page.get_by_role("button", name="Revocar").click()
    await expect(page.get_by_role("status")).to_have_text("Clave revocada.")
    await expect(page.locator("tbody tr", has_text="Integración CRM")).to_contain_text("Revocada")


async def test_a_csv_with_one_bad_line_is_rejected_naming_the_line(
    page: Page,
    live_server: str,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    _, email = await _admin_world(session_factory)
    csv = tmp_path / "commerces.csv"
    csv.write_text("external_id,name\nCOM-100,Kiosco Uno\nCOM-101,\nCOM-102,Kiosco Tres\n")
    await log_in(page, live_server, email)
    await page.get_by_role("link", name="Comercios").click()
    await page.get_by_text("Importar CSV").click()
    await page.get_by_label("Archivo CSV").set_input_files(str(csv))
    await page.get_by_role("button", name="Importar").click()

    await expect(page.get_by_role("alert")).to_have_text(
        "El archivo fue rechazado; no se importó nada."
    )
    rejected = page.locator("table.rejected tbody tr")
    await expect(rejected).to_have_count(1)
    await expect(rejected.locator("td").first).to_have_text("3")

    csv.write_text("external_id,name\nCOM-100,Kiosco Uno\nCOM-001,Almacén renombrado\n")
    await page.goto(f"{live_server}/admin/commerces")
    await page.get_by_text("Importar CSV").click()
    await page.get_by_label("Archivo CSV").set_input_files(str(csv))
    await page.get_by_role("button", name="Importar").click()
    await expect(page.locator("[data-count='created']")).to_have_text("1")
    await expect(page.locator("[data-count='updated']")).to_have_text("1")


async def test_operator_screen_reschedules_and_shows_the_follow_up(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world, email = await _admin_world(session_factory)
    await log_in(page, live_server, email)
    await page.get_by_role("link", name="Pantalla de operador").click()
    await page.get_by_role("link", name="Almacén Don Pedro").click()

    assert "RESCHEDULE" not in await page.locator("main").inner_text()
    date = page.get_by_label("Nueva fecha y hora")
    await expect(date).to_be_hidden()
    await page.get_by_text("Reprogramar visita", exact=True).click()
    await expect(date).to_be_visible()
    when = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT10:30")
    await date.fill(when)
    await page.get_by_label("Comentario").fill("Pide volver el jueves")
    await page.get_by_role("button", name="Enviar").click()

    await expect(page.get_by_role("heading", name="Resultado registrado")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Reprogramar visita")
    await page.get_by_role("link", name="Abrir la tarea de seguimiento").click()
    await expect(page.locator("main")).to_contain_text(when.replace("T", " "))
    await expect(page.locator("main")).to_contain_text(f"follow-up of {world.task.id}")


async def test_a_viewer_finds_no_admin_actions(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    viewer = await add_person(session_factory, world.tenant.id, "VIEWER")
    await log_in(page, live_server, viewer.email)
    nav = page.get_by_role("navigation", name="Navegación principal")
    await expect(nav.get_by_role("link")).to_have_text(
        [
            "Resumen",
            "Tareas",
            "Resultados",
            "Tipos de resultado",
            "Despacho",
            "Envíos",
            "Endpoints de eventos",
        ]
    )
    for path in [
        "/result-types",
        "/tasks",
        f"/tasks/{world.task.id}",
        "/results",
        "/dispatch-configs",
        "/deliveries",
        "/event-endpoints",
    ]:
        await page.goto(f"{live_server}/admin{path}")
        main = page.locator("main")
        await expect(main.locator("form[method='post']")).to_have_count(0)
        await expect(main.get_by_role("button", name="Archivar")).to_have_count(0)
    response = await page.goto(f"{live_server}/admin/api-keys")
    assert response is not None
    assert response.status == 403


async def test_logged_out_every_page_redirects_and_a_form_without_csrf_is_refused(
    page: Page, live_server: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    _, email = await _admin_world(session_factory)
    for path in PAGES:
        await page.goto(f"{live_server}/admin{path}")
        assert page.url.startswith(f"{live_server}/admin/login?next="), path
        await expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()

    await log_in(page, live_server, email)
    await page.goto(f"{live_server}/admin/result-types")
    form = page.locator("form[action='/admin/result-types']")
    await form.locator("input[name='csrf_token']").evaluate("input => input.remove()")
    await page.get_by_label("Código").fill("NO_TOKEN")
    await page.get_by_label("Etiqueta", exact=True).fill("Sin token")
    await page.get_by_role("button", name="Agregar").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "El formulario expiró o no vino de este sitio; inténtalo de nuevo"
    )
    await page.goto(f"{live_server}/admin/result-types")
    await expect(page.locator("main")).not_to_contain_text("NO_TOKEN")
