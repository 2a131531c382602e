"""``POST /api/users/{id}/deactivate`` and ``/reactivate``: who may, what ends at once (access
token, refresh token, panel session, sign-in), the refusals (yourself, the last active ADMIN, a
role not below yours, an account of another tenant), one audit entry each, tenant walls; the
``taskbridge user deactivate`` command; and the audit entry of a person's own password change."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.db import session_scope
from taskbridge.tenants import service as tenants
from taskbridge.users import service as users
from tests.audit.support import as_text, entries, no_entry, one_entry, target_of
from tests.cli.conftest import Cli
from tests.factories import build_world, create_key
from tests.users.support import PASSWORD, Person, add_person, bearer, join_tenant, log_in
from tests.users.test_sessions import device, refresh_cookie, rest_sign_in
from tests.web.support import sign_in

USERS = "/api/users"


def _deactivate(person: Person | uuid.UUID) -> str:
    return f"{USERS}/{getattr(person, 'id', person)}/deactivate"


def _reactivate(person: Person | uuid.UUID) -> str:
    return f"{USERS}/{getattr(person, 'id', person)}/reactivate"


async def _is_active(factory: async_sessionmaker[AsyncSession], person: Person) -> bool:
    async with session_scope(factory) as session:
        member = await users.get_member(session, person.tenant_id, person.id)
        return member.user.is_active


async def test_deactivating_ends_every_session_at_once_and_reactivating_lets_them_back(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    fde = await add_person(session_factory, world.tenant.id, "FDE")
    admin_headers = await bearer(client, admin)
    async with device(app) as script, device(app) as browser:
        token = await rest_sign_in(script, fde.email)
        fde_headers = {"authorization": f"Bearer {token}", "x-tenant-id": str(world.tenant.id)}
        assert (await script.get("/api/commerces", headers=fde_headers)).status_code == 200
        assert refresh_cookie(script)
        assert (await sign_in(browser, fde.email, PASSWORD)).status_code == 303
        assert (await browser.get("/admin/tasks")).status_code == 200

        async def deactivate() -> httpx.Response:
            response = await client.post(_deactivate(fde), headers=admin_headers)
            assert response.status_code == 200, response.text
            return response

        entry = await one_entry(session_factory, "user.deactivated", deactivate)
        assert target_of(entry) == ("user", str(fde.id))
        assert (entry.actor_type, entry.actor_label) == ("user", admin.email)
        assert entry.changes == {
            "before": {"is_active": True},
            "after": {"is_active": False, "sessions_ended": True},
        }
        shown = (await client.get(f"{USERS}/{fde.id}", headers=admin_headers)).json()
        assert shown["isActive"] is False

        # The access token, the refresh token and the panel session are refused at once.
        assert (await script.get("/api/commerces", headers=fde_headers)).status_code == 401
        assert (await script.post("/api/auth/refresh")).status_code == 401
        panel = await browser.get("/admin/tasks")
        assert panel.status_code == 303
        assert panel.headers["location"].startswith("/admin/login")
        login = await client.post(
            "/api/auth/login", json={"email": fde.email, "password": PASSWORD}
        )
        assert login.status_code == 401

    # Deactivating again changes nothing: 200, no entry.
    async def again() -> None:
        assert (await client.post(_deactivate(fde), headers=admin_headers)).status_code == 200

    await no_entry(session_factory, again)

    async def reactivate() -> None:
        response = await client.post(_reactivate(fde), headers=admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["isActive"] is True

    back = await one_entry(session_factory, "user.reactivated", reactivate)
    assert back.changes == {"before": {"is_active": False}, "after": {"is_active": True}}
    assert (await bearer(client, fde))["x-tenant-id"] == str(world.tenant.id)
    await no_entry(session_factory, reactivate)


async def test_refusals_yourself_the_last_admin_a_higher_role_and_no_permission(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    peer = await add_person(session_factory, world.tenant.id, "ADMIN")
    viewer = await add_person(session_factory, world.tenant.id, "VIEWER")
    boss = await add_person(session_factory, world.tenant.id, "SUPER_ADMIN")
    admin_headers = await bearer(client, admin)
    boss_headers = await bearer(client, boss)
    viewer_headers = await bearer(client, viewer)

    async def refused() -> None:
        own = await client.post(_deactivate(admin), headers=admin_headers)
        assert own.status_code == 409
        assert own.json()["message"] == "You cannot deactivate yourself"
        higher = await client.post(_deactivate(peer), headers=admin_headers)
        assert higher.status_code == 403
        assert higher.json()["message"] == (
            "You can only manage users whose role is below your own"
        )
        by_viewer = await client.post(_deactivate(admin), headers=viewer_headers)
        assert by_viewer.status_code == 403
        assert by_viewer.json()["requiredPermission"] == "UPDATE_USER"
        unknown = await client.post(_deactivate(uuid.uuid4()), headers=admin_headers)
        assert unknown.status_code == 404

    await no_entry(session_factory, refused)

    # A SUPER_ADMIN may deactivate an ADMIN, but never the tenant's last active one.
    assert (await client.post(_deactivate(peer), headers=boss_headers)).status_code == 200

    async def last() -> None:
        response = await client.post(_deactivate(admin), headers=boss_headers)
        assert response.status_code == 409
        assert response.json()["message"] == (
            "This person is the last active ADMIN of a tenant; make someone else ADMIN there first"
        )

    await no_entry(session_factory, last)
    assert await _is_active(session_factory, admin)
    assert (await client.post(_reactivate(peer), headers=boss_headers)).status_code == 200
    assert (await client.post(_deactivate(admin), headers=boss_headers)).status_code == 200
    assert not await _is_active(session_factory, admin)


async def test_an_account_of_another_tenant_and_a_key(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    acme = await build_world(session_factory, slug="acme")
    other = await build_world(session_factory, slug="other")
    admin = await add_person(session_factory, acme.tenant.id, "ADMIN")
    shared = await add_person(session_factory, other.tenant.id, "FDE")
    await join_tenant(session_factory, shared.email, acme.tenant.id, "VIEWER")
    outsider = await add_person(session_factory, other.tenant.id, "VIEWER")
    async with session_scope(session_factory) as session:
        key = await create_key(session, acme.tenant.id, *TENANT_KEY_PERMISSIONS, name="admin")
        reader = await create_key(session, acme.tenant.id, Permission.VIEW_USERS, name="reader")
    admin_headers = await bearer(client, admin)

    async def refused() -> None:
        # The flag is the account's: a tenant changes it only for an account it owns alone.
        both = await client.post(_deactivate(shared.id), headers=admin_headers)
        assert both.status_code == 403
        assert both.json()["message"] == (
            "This account also belongs to another tenant; only its owner can change it"
        )
        # Another tenant's person is not found, by a person or a key, and reveals nothing.
        for headers in (admin_headers, {"x-api-key": key}):
            for path in (_deactivate(outsider), _reactivate(outsider)):
                walled = await client.post(path, headers=headers)
                assert walled.status_code == 404
                assert walled.json()["message"] == f"User '{outsider.id}' not found"
        no_permission = await client.post(_deactivate(admin), headers={"x-api-key": reader})
        assert no_permission.status_code == 403

    await no_entry(session_factory, refused)
    assert await _is_active(session_factory, outsider)
    assert await _is_active(session_factory, shared)

    # A key of the tenant (ranked as its ADMIN) deactivates a person below it.
    viewer = await add_person(session_factory, acme.tenant.id, "VIEWER")

    async def by_key() -> None:
        response = await client.post(_deactivate(viewer), headers={"x-api-key": key})
        assert response.status_code == 200, response.text

    entry = await one_entry(session_factory, "user.deactivated", by_key)
    assert entry.actor_type == "api_key"


async def test_the_command_line_deactivates_and_reactivates(
    cli: Cli,
    acme: str,
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_scope(session_factory) as session:
        tenant_id = (await tenants.get_by_slug(session, acme)).id
    admin = await add_person(session_factory, tenant_id, "ADMIN")
    fde = await add_person(session_factory, tenant_id, "FDE")
    token = await log_in(client, fde.email)

    async def deactivate() -> None:
        shown = await cli.json("user", "deactivate", "--tenant", acme, "--email", fde.email)
        assert (shown["email"], shown["isActive"]) == (fde.email, False)

    entry = await one_entry(session_factory, "user.deactivated", deactivate)
    assert entry.actor_type == "cli"
    assert (
        await client.get("/api/auth/me", headers={"authorization": f"Bearer {token}"})
    ).status_code == 401

    last = await cli.refused("user", "deactivate", "--tenant", acme, "--email", admin.email)
    assert "last active ADMIN" in last.stderr
    assert await _is_active(session_factory, admin)

    said = await cli.ok("user", "reactivate", "--tenant", acme, "--email", fde.email)
    assert said.stdout.startswith(f"Reactivated user {fde.email}")
    assert await _is_active(session_factory, fde)


async def test_changing_ones_own_password_leaves_one_entry_per_tenant_and_never_the_password(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    acme = await build_world(session_factory, slug="acme")
    other = await build_world(session_factory, slug="other")
    person = await add_person(session_factory, acme.tenant.id, "FDE")
    await join_tenant(session_factory, person.email, other.tenant.id, "VIEWER")
    token = await log_in(client, person.email)
    new_password = "a brand new passphrase"

    async def change() -> None:
        response = await client.post(
            "/api/auth/change-password",
            headers={"authorization": f"Bearer {token}"},
            json={"current_password": PASSWORD, "new_password": new_password},
        )
        assert response.status_code == 200, response.text

    before = {e.id for e in await entries(session_factory)}
    await change()
    new = [e for e in await entries(session_factory) if e.id not in before]
    assert sorted(e.action for e in new) == ["user.password_changed"] * 2
    assert {e.tenant_id for e in new} == {acme.tenant.id, other.tenant.id}
    for entry in new:
        assert target_of(entry) == ("user", str(person.id))
        assert (entry.actor_type, entry.actor_label) == ("user", person.email)
        assert entry.changes["after"] == {"email": person.email, "other_sessions_ended": True}
        assert PASSWORD not in as_text(entry)
        assert new_password not in as_text(entry)

    async def wrong() -> None:
        fresh = await log_in(client, person.email, new_password)
        response = await client.post(
            "/api/auth/change-password",
            headers={"authorization": f"Bearer {fresh}"},
            json={"current_password": "not it at all", "new_password": "another passphrase"},
        )
        assert response.status_code == 400

    before = {e.id for e in await entries(session_factory)}
    await wrong()
    actions = [e.action for e in await entries(session_factory) if e.id not in before]
    assert "user.password_changed" not in actions
