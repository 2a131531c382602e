"""Bearer tokens on admin routes, and the boundaries between roles and tenants."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS
from taskbridge.db import session_scope
from tests.factories import build_world, create_key
from tests.users.support import PASSWORD, add_person, bearer, log_in

CONFIGS = "/api/task-result-type-configs"


async def test_a_bearer_token_with_a_tenant_reaches_admin_routes_but_not_integration(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    viewer = await add_person(session_factory, world.tenant.id, "VIEWER")
    headers = await bearer(client, viewer)

    listed = await client.get(CONFIGS, headers=headers)
    assert listed.status_code == 200
    assert listed.json()["meta"]["total"] == 4

    no_tenant = await client.get(CONFIGS, headers={"authorization": headers["authorization"]})
    assert no_tenant.status_code == 400
    assert no_tenant.json()["message"] == "x-tenant-id: is required with a bearer token"

    bad_tenant = await client.get(CONFIGS, headers={**headers, "x-tenant-id": "acme"})
    assert bad_tenant.status_code == 400

    integration = await client.get("/api/integration/task-result-type-configs", headers=headers)
    assert integration.status_code == 401

    forbidden = await client.post(CONFIGS, headers=headers, json={"code": "X", "label": "X"})
    assert forbidden.status_code == 403
    assert forbidden.json()["requiredPermission"] == "MANAGE_ACTIVITY_CONFIG"

    with_key = await client.get(CONFIGS, headers=world.headers)
    assert with_key.status_code == 200


async def test_an_admin_cannot_act_in_a_tenant_it_does_not_belong_to(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    acme = await build_world(session_factory, slug="acme")
    other = await build_world(session_factory, slug="other")
    admin = await add_person(session_factory, acme.tenant.id, "ADMIN")
    headers = await bearer(client, admin)

    for method, path in [("GET", CONFIGS), ("GET", "/api/users"), ("GET", "/api/api-keys")]:
        response = await client.request(
            method, path, headers={**headers, "x-tenant-id": str(other.tenant.id)}
        )
        assert response.status_code == 403, path
        assert response.json()["message"] == "You are not a member of this tenant"
    assert (await client.get("/api/users", headers=headers)).status_code == 200


async def test_an_fde_cannot_manage_keys_and_an_admin_grants_only_what_it_has(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    fde = await add_person(session_factory, world.tenant.id, "FDE")
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    body = {"name": "script", "permissions": ["VIEW_ACTIVITIES"]}

    by_fde = await client.post("/api/api-keys", headers=await bearer(client, fde), json=body)
    assert by_fde.status_code == 403
    assert by_fde.json()["requiredPermission"] == "MANAGE_API_KEYS"

    admin_headers = await bearer(client, admin)
    created = await client.post("/api/api-keys", headers=admin_headers, json=body)
    assert created.status_code == 201
    assert created.json()["plaintextKey"].startswith("tb_sk_")
    beyond = await client.post(
        "/api/api-keys", headers=admin_headers, json={"name": "x", "permissions": ["CREATE_TENANT"]}
    )
    assert beyond.status_code == 400
    assert beyond.json()["message"] == (
        "permissions: 'CREATE_TENANT' is a platform permission; "
        "a tenant's key holds at most what the tenant's ADMIN holds"
    )


async def test_users_manage_only_users_below_them(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    peer = await add_person(session_factory, world.tenant.id, "ADMIN")
    fde = await add_person(session_factory, world.tenant.id, "FDE")
    fde_headers = await bearer(client, fde)
    assert (await client.get("/api/users", headers=fde_headers)).status_code == 200
    headers = await bearer(client, admin)

    created = await client.post(
        "/api/users",
        headers=headers,
        json={
            "email": "New@Acme.test",
            "password": "12345678",
            "role": "VIEWER",
            "first_name": "Nuevo",
        },
    )
    assert created.status_code == 201
    assert created.json()["email"] == "new@acme.test"
    assert created.json()["role"] == "VIEWER"
    assert created.json()["firstName"] == "Nuevo"
    short = await client.post(
        "/api/users",
        headers=headers,
        json={"email": "s@acme.test", "password": "1234567", "role": "VIEWER"},
    )
    assert short.status_code == 400
    assert short.json()["message"] == "password: must be at least 8 characters"
    again = await client.post(
        "/api/users",
        headers=headers,
        json={"email": "new@acme.test", "password": "12345678", "role": "VIEWER"},
    )
    assert again.status_code == 409
    super_admin = await client.post(
        "/api/users",
        headers=headers,
        json={"email": "s@acme.test", "password": "12345678", "role": "SUPER_ADMIN"},
    )
    assert super_admin.status_code == 403

    lowered = await client.put(
        f"/api/users/{fde.id}/role", headers=headers, json={"role": "VIEWER"}
    )
    assert (lowered.status_code, lowered.json()["role"]) == (200, "VIEWER")
    to_peer = await client.put(f"/api/users/{peer.id}/role", headers=headers, json={"role": "FDE"})
    assert to_peer.status_code == 403
    assert to_peer.json()["message"] == "You can only manage users whose role is below your own"
    unknown_role = await client.put(
        f"/api/users/{fde.id}/role", headers=headers, json={"role": "OWNER"}
    )
    assert unknown_role.status_code == 400
    assert (
        unknown_role.json()["message"] == "role: must be one of SUPER_ADMIN, ADMIN, FDE or VIEWER"
    )

    reset = await client.post(
        f"/api/users/{fde.id}/reset-password", headers=headers, json={"password": "brand-new-pw"}
    )
    assert reset.status_code == 200
    old = await client.post("/api/auth/login", json={"email": fde.email, "password": PASSWORD})
    assert old.status_code == 401
    ended = await client.get("/api/users", headers=fde_headers)
    assert ended.status_code == 401
    await log_in(client, fde.email, "brand-new-pw")
    peer_reset = await client.post(
        f"/api/users/{peer.id}/reset-password", headers=headers, json={"password": "brand-new-pw"}
    )
    assert peer_reset.status_code == 403

    listed = await client.get("/api/users", headers=headers)
    assert listed.json()["meta"]["total"] == 4
    assert {u["email"] for u in listed.json()["data"]} == {
        admin.email,
        peer.email,
        fde.email,
        "new@acme.test",
    }


async def test_an_api_key_holding_everything_it_may_ranks_as_the_tenants_admin(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    fde = await add_person(session_factory, world.tenant.id, "FDE")
    async with session_scope(session_factory) as session:
        key = await create_key(session, world.tenant.id, *TENANT_KEY_PERMISSIONS)
    headers = {"x-api-key": key}

    on_admin = await client.post(
        f"/api/users/{admin.id}/reset-password", headers=headers, json={"password": "brand-new-pw"}
    )
    assert on_admin.status_code == 403
    on_fde = await client.post(
        f"/api/users/{fde.id}/reset-password", headers=headers, json={"password": "brand-new-pw"}
    )
    assert on_fde.status_code == 200
