"""The cross-tenant takeover, attacked through HTTP: a tenant's ADMIN adds another tenant's
SUPER_ADMIN to its own tenant with a low role, resets that account's password, and signs in as
them. Adding an existing account is now an invitation, and an account is measured by its
highest role anywhere and changed only by a tenant it belongs to alone."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import Permission
from taskbridge.db import session_scope
from taskbridge.models import ApiKey
from tests.factories import build_world, create_key
from tests.users.support import PASSWORD, Person, add_person, bearer, join_tenant, log_in
from tests.web.support import post_form, sign_in

ATTACKER_PASSWORD = "chosen-by-the-attacker"
MANAGE_BELOW = "You can only manage users whose role is below your own"
OTHER_TENANT = "This account also belongs to another tenant; only its owner can change it"
INVITATION_FIELDS = {
    "id",
    "email",
    "role",
    "status",
    "createdAt",
    "expiresAt",
    "acceptUrl",
    "token",
}


async def _two_tenants(
    factory: async_sessionmaker[AsyncSession], victim_role: str = "SUPER_ADMIN"
) -> tuple[Person, Person]:
    """The victim (``victim_role`` in alpha) and the attacker (ADMIN of beta)."""
    alpha = await build_world(factory, slug="alpha")
    beta = await build_world(factory, slug="beta")
    victim = await add_person(factory, alpha.tenant.id, victim_role, email="boss@alpha.test")
    attacker = await add_person(factory, beta.tenant.id, "ADMIN", email="admin@beta.test")
    return victim, attacker


async def _accept(client: httpx.AsyncClient, person: Person, token: str) -> httpx.Response:
    access = await log_in(client, person.email)
    return await client.post(
        "/api/auth/invitations/accept",
        headers={"authorization": f"Bearer {access}"},
        json={"token": token},
    )


async def test_the_takeover_fails_at_every_step(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    victim, attacker = await _two_tenants(session_factory)
    headers = await bearer(client, attacker)

    added = await client.post(
        "/api/users",
        headers=headers,
        json={
            "email": "Boss@Alpha.test",
            "password": ATTACKER_PASSWORD,
            "role": "VIEWER",
            "first_name": "Mallory",
        },
    )
    assert added.status_code == 202, added.text
    body = added.json()
    assert set(body) == INVITATION_FIELDS
    assert (body["email"], body["role"], body["status"]) == ("boss@alpha.test", "VIEWER", "invited")
    assert str(victim.id) not in added.text
    assert "Mallory" not in added.text

    not_a_member = f"/api/users/{victim.id}"
    for response in [
        await client.get(not_a_member, headers=headers),
        await client.put(f"{not_a_member}/role", headers=headers, json={"role": "VIEWER"}),
        await client.post(
            f"{not_a_member}/reset-password", headers=headers, json={"password": ATTACKER_PASSWORD}
        ),
    ]:
        assert response.status_code == 404, response.text
    listed = await client.get("/api/users", headers=headers)
    assert victim.email not in listed.text

    accepted = await _accept(client, victim, body["token"])
    assert accepted.status_code == 200, accepted.text
    assert "Beta" in {t["name"] for t in accepted.json()["tenants"]}

    reset = await client.post(
        f"{not_a_member}/reset-password", headers=headers, json={"password": ATTACKER_PASSWORD}
    )
    assert reset.status_code == 403
    demoted = await client.put(f"{not_a_member}/role", headers=headers, json={"role": "FDE"})
    assert demoted.status_code == 403
    assert demoted.json()["message"] == MANAGE_BELOW

    await log_in(client, victim.email, PASSWORD)
    as_victim = await client.post(
        "/api/auth/login", json={"email": victim.email, "password": ATTACKER_PASSWORD}
    )
    assert as_victim.status_code == 401


@pytest.mark.parametrize("role_elsewhere", ["ADMIN", "SUPER_ADMIN"])
async def test_an_admin_cannot_manage_a_viewer_who_ranks_higher_in_another_tenant(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    role_elsewhere: str,
) -> None:
    victim, attacker = await _two_tenants(session_factory, role_elsewhere)
    await join_tenant(session_factory, victim.email, attacker.tenant_id, "VIEWER")
    headers = await bearer(client, attacker)

    for response in [
        await client.put(f"/api/users/{victim.id}/role", headers=headers, json={"role": "FDE"}),
        await client.post(
            f"/api/users/{victim.id}/reset-password",
            headers=headers,
            json={"password": ATTACKER_PASSWORD},
        ),
    ]:
        assert response.status_code == 403, response.text
        assert response.json()["message"] == MANAGE_BELOW
    await log_in(client, victim.email, PASSWORD)


async def test_a_shared_account_keeps_its_password_but_its_role_here_may_change(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    shared, attacker = await _two_tenants(session_factory, "VIEWER")
    await join_tenant(session_factory, shared.email, attacker.tenant_id, "VIEWER")
    own = await add_person(session_factory, attacker.tenant_id, "VIEWER")
    headers = await bearer(client, attacker)

    refused = await client.post(
        f"/api/users/{shared.id}/reset-password", headers=headers, json={"password": "new-pw-123"}
    )
    assert refused.status_code == 403
    assert refused.json()["message"] == OTHER_TENANT
    await log_in(client, shared.email, PASSWORD)

    raised = await client.put(f"/api/users/{shared.id}/role", headers=headers, json={"role": "FDE"})
    assert (raised.status_code, raised.json()["role"]) == (200, "FDE")
    alone = await client.post(
        f"/api/users/{own.id}/reset-password", headers=headers, json={"password": "new-pw-123"}
    )
    assert alone.status_code == 200


async def test_a_key_with_every_permission_ranks_as_its_tenants_admin(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    victim, attacker = await _two_tenants(session_factory, "VIEWER")
    fde = await add_person(session_factory, attacker.tenant_id, "FDE")
    peer = await add_person(session_factory, attacker.tenant_id, "ADMIN")
    headers = {"x-api-key": await _key_with_every_permission(session_factory, attacker)}

    for email in ["new@beta.test", victim.email]:
        made = await client.post(
            "/api/users",
            headers=headers,
            json={"email": email, "password": "long-enough-pw", "role": "SUPER_ADMIN"},
        )
        assert made.status_code == 403, made.text
        assert made.json()["message"] == (
            "You cannot grant the role SUPER_ADMIN: it is above your own"
        )
    granted = await client.put(
        f"/api/users/{fde.id}/role", headers=headers, json={"role": "SUPER_ADMIN"}
    )
    assert granted.status_code == 403
    on_peer = await client.post(
        f"/api/users/{peer.id}/reset-password", headers=headers, json={"password": "new-pw-123"}
    )
    assert on_peer.status_code == 403
    invited = await client.post(
        "/api/users", headers=headers, json={"email": victim.email, "role": "ADMIN"}
    )
    assert invited.status_code == 202


async def _key_with_every_permission(
    factory: async_sessionmaker[AsyncSession], attacker: Person
) -> str:
    """A key of the attacker's tenant stored with every permission there is (as one written
    before any rule on keys could be)."""
    async with session_scope(factory) as session:
        plaintext = await create_key(
            session, attacker.tenant_id, Permission.VIEW_USERS, name="everything"
        )
        await session.execute(
            update(ApiKey)
            .where(ApiKey.name == "everything")
            .values(permissions=[str(p) for p in Permission])
        )
    return plaintext


async def test_the_panel_hides_and_refuses_what_the_caller_may_not_do(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    ranked, attacker = await _two_tenants(session_factory, "ADMIN")
    await join_tenant(session_factory, ranked.email, attacker.tenant_id, "VIEWER")
    shared = await add_person(session_factory, ranked.tenant_id, "VIEWER")
    await join_tenant(session_factory, shared.email, attacker.tenant_id, "VIEWER")
    own = await add_person(session_factory, attacker.tenant_id, "VIEWER")
    await sign_in(client, attacker.email, PASSWORD)

    page = await client.get("/admin/users")
    assert f"/admin/users/{ranked.id}/role" not in page.text
    assert f"/admin/users/{ranked.id}/password" not in page.text
    assert f"/admin/users/{shared.id}/role" in page.text
    assert f"/admin/users/{shared.id}/password" not in page.text
    assert f"/admin/users/{own.id}/password" in page.text

    forced = await post_form(
        client, "/admin/users", f"/admin/users/{shared.id}/password", {"password": "new-pw-123"}
    )
    assert forced.status_code == 403
    assert "Esta cuenta también pertenece a otra empresa" in forced.text
    ranked_reset = await post_form(
        client, "/admin/users", f"/admin/users/{ranked.id}/password", {"password": "new-pw-123"}
    )
    assert ranked_reset.status_code == 403
    await log_in(client, shared.email, PASSWORD)
    await log_in(client, ranked.email, PASSWORD)
