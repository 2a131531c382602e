"""The panel over HTTP, without a browser: sign-in, safety, permissions, every page renders."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import World, build_world
from tests.users.support import PASSWORD, add_person
from tests.web.support import csrf_of, post_form, sign_in

PAGES = [
    "/admin/",
    "/admin/result-types",
    "/admin/api-keys",
    "/admin/dispatch-configs",
    "/admin/deliveries",
    "/admin/commerces",
    "/admin/operators",
    "/admin/tasks",
    "/admin/tasks/new",
    "/admin/results",
    "/admin/users",
    "/admin/operate",
]


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(session_factory)


async def test_logged_out_every_page_redirects_to_login(
    client: httpx.AsyncClient, world: World
) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next=")
    login = await client.get("/admin/login")
    assert login.status_code == 200
    assert 'name="password"' in login.text


async def test_sign_in_sets_a_safe_session_and_every_page_renders(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    response = await sign_in(client, admin.email, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("tb_session=")
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Path=/admin" in session_cookie

    for path in PAGES:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.text[:2000])
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text
        assert " on" + "click=" not in page.text
    detail = await client.get(f"/admin/tasks/{world.task.id}")
    assert detail.status_code == 200
    assert "Visita mensual" in detail.text


async def test_wrong_password_is_shown_on_the_login_page(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    response = await sign_in(client, admin.email, "wrong-password")
    assert response.status_code == 401
    assert "Correo o contraseña incorrectos" in response.text
    assert "tb_session" not in response.headers.get("set-cookie", "")


async def test_a_form_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    await sign_in(client, admin.email, PASSWORD)
    body = {"code": "NEW", "label": "Nuevo"}

    missing = await client.post("/admin/result-types", data=body)
    forged = await client.post("/admin/result-types", data={**body, "csrf_token": "forged"})

    for response in (missing, forged):
        assert response.status_code == 403
        assert "El formulario expiró o no vino de este sitio" in response.text
    page = await client.get("/admin/result-types")
    assert "NEW" not in page.text
    ok = await client.post("/admin/result-types", data={**body, "csrf_token": csrf_of(page)})
    assert ok.status_code == 303


async def test_a_viewer_sees_no_admin_actions_and_gets_403_when_posting(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    viewer = await add_person(session_factory, world.tenant.id, "VIEWER")
    await sign_in(client, viewer.email, PASSWORD)
    page = await client.get("/admin/result-types")
    assert page.status_code == 200
    assert "Venta completada" in page.text
    for action in ("/archive", "/move", "/delete", 'action="/admin/result-types"'):
        assert action not in page.text
    assert 'href="/admin/api-keys"' not in page.text
    assert (await client.get("/admin/api-keys")).status_code == 403

    refused = await post_form(
        client, "/admin/result-types", "/admin/result-types", {"code": "X", "label": "X"}
    )
    assert refused.status_code == 403
    assert "No tienes permiso para hacer esto" in refused.text
