"""Panel editing of commerces and operators, and deactivating people, over HTTP: the services of
the PATCH and deactivate APIs, CSRF, permissions as in the API, tenant walls (404), and the
services' refusals shown in the person's language (es/en) while the API keeps its English."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import Permission
from taskbridge.db import session_scope
from taskbridge.models import Commerce, Operator
from taskbridge.users import service as users
from tests.admin.conftest import key_headers
from tests.audit.support import no_entry, one_entry
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person
from tests.users.test_sessions import device
from tests.web.support import csrf_of, post_form, sign_in


async def _first(
    factory: async_sessionmaker[AsyncSession],
    model: type[Commerce] | type[Operator],
    tenant: uuid.UUID,
) -> uuid.UUID:
    async with session_scope(factory) as session:
        found = await session.scalar(select(model.id).where(model.tenant_id == tenant))
    assert found is not None
    return found


async def _commerce(factory: async_sessionmaker[AsyncSession], commerce_id: uuid.UUID) -> Commerce:
    async with session_scope(factory) as session:
        found = await session.get(Commerce, commerce_id)
    assert found is not None
    return found


async def _operator(factory: async_sessionmaker[AsyncSession], operator_id: uuid.UUID) -> Operator:
    async with session_scope(factory) as session:
        found = await session.get(Operator, operator_id)
    assert found is not None
    return found


async def _english(client: httpx.AsyncClient) -> None:
    chosen = await post_form(client, "/admin/", "/admin/language", {"language": "en"})
    assert chosen.status_code == 303


async def test_a_commerce_is_edited_deactivated_and_reactivated(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    fde = await add_person(session_factory, world.tenant.id, "FDE")  # holds MANAGE_COMMERCES
    commerce_id = await _first(session_factory, Commerce, world.tenant.id)
    page = f"/admin/commerces/{commerce_id}"
    await sign_in(client, fde.email, PASSWORD)
    shown = await client.get(page)
    assert shown.status_code == 200
    assert 'value="Almacén Don Pedro"' in shown.text

    async def save() -> None:
        saved = await post_form(
            client, page, page, {"name": " Almacén Don Pedro e Hijos ", "tax_id": "76.123.456-7"}
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == f"{page}?notice=saved"

    entry = await one_entry(session_factory, "commerce.updated", save)
    assert entry.actor_label == fde.email
    assert entry.changes["after"] == {"name": "Almacén Don Pedro e Hijos", "tax_id": "76.123.456-7"}
    assert "Guardado." in (await client.get(f"{page}?notice=saved")).text
    stored = await _commerce(session_factory, commerce_id)
    assert (stored.name, stored.tax_id, stored.is_active) == (
        "Almacén Don Pedro e Hijos",
        "76.123.456-7",
        True,
    )

    # A refusal of the PATCH API's rules is shown next to its field, in Spanish, changing nothing.
    async def blank() -> None:
        refused = await post_form(client, page, page, {"name": "   ", "tax_id": ""})
        assert refused.status_code == 400
        assert (
            '<p class="field-error" id="name-error" role="alert">'
            "name: debe tener al menos 1 caracteres</p>"
        ) in refused.text
        assert 'value="   "' in refused.text  # the form as typed

    await no_entry(session_factory, blank)
    await _english(client)
    english = await post_form(client, page, page, {"name": "", "tax_id": "x" * 65})
    assert english.status_code == 400
    assert "name: must be at least 1 characters" in english.text
    assert "must be at most 64 characters" in english.text
    assert (await _commerce(session_factory, commerce_id)).tax_id == "76.123.456-7"

    emptied = await post_form(client, page, page, {"name": "Almacén", "tax_id": ""})
    assert emptied.status_code == 303
    assert (await _commerce(session_factory, commerce_id)).tax_id is None

    off = await post_form(client, page, f"{page}/deactivate")
    assert off.status_code == 303
    assert (await _commerce(session_factory, commerce_id)).is_active is False
    assert "Deactivated" in (await client.get(page)).text
    on = await post_form(client, page, f"{page}/reactivate")
    assert on.status_code == 303
    assert (await _commerce(session_factory, commerce_id)).is_active is True
    unknown = await post_form(client, page, f"{page}/archive")
    assert unknown.status_code in {400, 404}


async def test_an_operator_is_edited_deactivated_and_reactivated(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory, locale="en")
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    operator_id = await _first(session_factory, Operator, world.tenant.id)
    page = f"/admin/operators/{operator_id}"
    await sign_in(client, admin.email, PASSWORD)

    saved = await post_form(
        client, page, page, {"name": "Ana Rojas", "email": "ana@acme.test", "phone": "+56 9 1"}
    )
    assert saved.status_code == 303
    stored = await _operator(session_factory, operator_id)
    assert (stored.email, stored.phone) == ("ana@acme.test", "+56 9 1")

    too_long = await post_form(client, page, page, {"name": "Ana", "phone": "9" * 65})
    assert too_long.status_code == 400
    assert "phone: must be at most 64 characters" in too_long.text
    chosen = await post_form(client, "/admin/", "/admin/language", {"language": "es"})
    assert chosen.status_code == 303
    spanish = await post_form(client, page, page, {"name": "Ana", "phone": "9" * 65})
    assert "phone: debe tener como máximo 64 caracteres" in spanish.text
    assert (await _operator(session_factory, operator_id)).name == "Ana Rojas"

    cleared = await post_form(client, page, page, {"name": "Ana Rojas", "email": "", "phone": ""})
    assert cleared.status_code == 303
    stored = await _operator(session_factory, operator_id)
    assert (stored.email, stored.phone) == (None, None)

    off = await post_form(client, page, f"{page}/deactivate")
    assert off.status_code == 303
    assert (await _operator(session_factory, operator_id)).is_active is False
    assert "Desactivado" in (await client.get(page)).text
    on = await post_form(client, page, f"{page}/reactivate")
    assert on.status_code == 303
    assert (await _operator(session_factory, operator_id)).is_active is True


async def test_csrf_roles_and_tenant_walls_of_the_edit_forms(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    acme = await build_world(session_factory, slug="acme")
    other = await build_world(session_factory, slug="other")
    admin = await add_person(session_factory, acme.tenant.id, "ADMIN")
    viewer = await add_person(session_factory, acme.tenant.id, "VIEWER")
    ours = await _first(session_factory, Commerce, acme.tenant.id)
    theirs = await _first(session_factory, Commerce, other.tenant.id)
    their_operator = await _first(session_factory, Operator, other.tenant.id)
    their_person = await add_person(session_factory, other.tenant.id, "VIEWER")
    await sign_in(client, admin.email, PASSWORD)
    page = f"/admin/commerces/{ours}"

    async def refused() -> None:
        token = csrf_of(await client.get(page))
        forged = await client.post(page, data={"name": "Forged"})
        assert forged.status_code == 403
        wrong = await client.post(page, data={"name": "Forged", "csrf_token": token[:-2] + "xx"})
        assert wrong.status_code == 403
        for path, data in [
            (f"/admin/commerces/{theirs}", {"name": "Hijacked"}),
            (f"/admin/commerces/{theirs}/deactivate", {}),
            (f"/admin/operators/{their_operator}", {"name": "Hijacked"}),
            (f"/admin/operators/{their_operator}/deactivate", {}),
            (f"/admin/users/{their_person.id}/deactivate", {}),
        ]:
            walled = await client.post(path, data={**data, "csrf_token": token})
            assert walled.status_code == 404, path
        assert (await client.get(f"/admin/commerces/{theirs}")).status_code == 404

    await no_entry(session_factory, refused)
    assert (await _commerce(session_factory, ours)).name == "Almacén Don Pedro"
    assert (await _commerce(session_factory, theirs)).is_active is True
    assert (await _operator(session_factory, their_operator)).name == "Ana Rojas"

    async with device(app) as browser:
        await sign_in(browser, viewer.email, PASSWORD)
        token = csrf_of(await browser.get("/admin/tasks"))
        for path in (page, f"{page}/deactivate", f"/admin/users/{admin.id}/deactivate"):
            denied = await browser.post(path, data={"name": "Viewer", "csrf_token": token})
            assert denied.status_code == 403, path
            assert "No tienes permiso para hacer esto" in denied.text
    assert (await _commerce(session_factory, ours)).is_active is True


async def test_a_person_is_deactivated_from_the_users_page_and_signed_out_at_once(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    fde = await add_person(session_factory, world.tenant.id, "FDE")
    await sign_in(client, admin.email, PASSWORD)
    listed = await client.get("/admin/users")
    assert f"/admin/users/{fde.id}/deactivate" in listed.text
    assert f"/admin/users/{admin.id}/deactivate" not in listed.text

    async with device(app) as browser:
        await sign_in(browser, fde.email, PASSWORD)
        assert (await browser.get("/admin/tasks")).status_code == 200

        async def deactivate() -> None:
            done = await post_form(client, "/admin/users", f"/admin/users/{fde.id}/deactivate")
            assert done.status_code == 303
            assert done.headers["location"] == "/admin/users?notice=deactivated"

        await one_entry(session_factory, "user.deactivated", deactivate)
        notice = await client.get("/admin/users?notice=deactivated")
        assert "Desactivado. Se cerraron sus sesiones." in notice.text
        assert f"/admin/users/{fde.id}/reactivate" in notice.text
        gone = await browser.get("/admin/tasks")
        assert gone.status_code == 303
        assert gone.headers["location"].startswith("/admin/login")

    # Deactivating oneself (a forged form) is refused in the person's language, then in English.
    own = await post_form(client, "/admin/users", f"/admin/users/{admin.id}/deactivate")
    assert own.status_code == 409
    assert "No puedes desactivarte a ti mismo" in own.text
    await _english(client)
    own = await post_form(client, "/admin/users", f"/admin/users/{admin.id}/deactivate")
    assert "You cannot deactivate yourself" in own.text

    back = await post_form(client, "/admin/users", f"/admin/users/{fde.id}/reactivate")
    assert back.status_code == 303
    async with session_scope(session_factory) as session:
        assert (await users.get_member(session, world.tenant.id, fde.id)).user.is_active


async def test_the_api_keeps_the_contracts_english_whatever_the_language(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    commerce_id = await _first(session_factory, Commerce, world.tenant.id)
    key = await key_headers(session_factory, world.tenant.id, Permission.MANAGE_COMMERCES)
    response = await client.patch(
        f"/api/commerces/{commerce_id}",
        headers={**key, "accept-language": "es"},
        json={"name": " "},
    )
    assert response.status_code == 400
    assert response.json()["message"] == "name: must be at least 1 characters"
