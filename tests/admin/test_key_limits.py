"""A tenant's key is never more than the tenant's ADMIN, and never outlives the key that made it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.db import session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import ApiKey, User
from tests.admin.conftest import Admin
from tests.users.support import add_person, bearer

KEYS = "/api/api-keys"
PLATFORM = sorted(set(Permission) - TENANT_KEY_PERMISSIONS)


def test_platform_permissions_are_those_no_tenant_admin_holds() -> None:
    assert set(PLATFORM) >= {Permission.CREATE_TENANT, Permission.DELETE_TENANT}
    assert Permission.MANAGE_API_KEYS in TENANT_KEY_PERMISSIONS


@pytest.mark.parametrize("permission", PLATFORM)
async def test_no_key_is_ever_granted_a_platform_permission(
    client: httpx.AsyncClient, admin: Admin, permission: Permission
) -> None:
    response = await client.post(
        KEYS, headers=admin.headers, json={"name": "too much", "permissions": [str(permission)]}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"permissions: '{permission}' is a platform")


async def test_a_key_holding_everything_cannot_make_a_super_admin(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    body = {"email": "boss@acme.test", "password": "long-enough-pw", "role": "SUPER_ADMIN"}
    response = await client.post("/api/users", headers=admin.headers, json=body)
    assert response.status_code == 403, response.text
    assert (
        response.json()["message"] == "You cannot grant the role SUPER_ADMIN: it is above your own"
    )
    async with session_scope(session_factory) as session:
        assert await session.scalar(select(User).where(User.email == "boss@acme.test")) is None


async def test_a_key_stored_with_platform_permissions_is_still_only_an_admin(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """A key written before the rule (or by hand) loses what no tenant key may hold."""
    async with session_scope(session_factory) as session:
        await session.execute(update(ApiKey).values(permissions=[str(p) for p in Permission]))
    response = await client.post(
        "/api/users",
        headers=admin.headers,
        json={"email": "boss@acme.test", "password": "long-enough-pw", "role": "SUPER_ADMIN"},
    )
    assert response.status_code == 403
    minted = await client.post(
        KEYS, headers=admin.headers, json={"name": "x", "permissions": ["CREATE_TENANT"]}
    )
    assert minted.status_code == 400


async def _key_expiring_in(client: httpx.AsyncClient, admin: Admin, hours: int) -> str:
    created = await client.post(
        KEYS,
        headers=admin.headers,
        json={
            "name": "short-lived",
            "permissions": ["MANAGE_API_KEYS", "VIEW_ACTIVITIES"],
            "expires_at": format_timestamp(utcnow() + timedelta(hours=hours)),
        },
    )
    assert created.status_code == 201, created.text
    plaintext: str = created.json()["plaintextKey"]
    return plaintext


async def test_a_key_made_by_an_expiring_key_expires_with_it_by_default(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    parent = await _key_expiring_in(client, admin, hours=1)
    parent_expiry = (await client.get(KEYS, headers=admin.headers)).json()["data"][0]["expiresAt"]

    child = await client.post(
        KEYS,
        headers={"x-api-key": parent},
        json={"name": "child", "permissions": ["VIEW_ACTIVITIES"]},
    )
    assert child.status_code == 201, child.text
    assert child.json()["expiresAt"] == parent_expiry


async def test_a_key_cannot_make_a_key_that_outlives_it(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    parent = await _key_expiring_in(client, admin, hours=1)
    later = format_timestamp(utcnow() + timedelta(days=365))
    refused = await client.post(
        KEYS,
        headers={"x-api-key": parent},
        json={"name": "child", "permissions": ["VIEW_ACTIVITIES"], "expires_at": later},
    )
    assert refused.status_code == 400
    assert refused.json()["message"].startswith(
        "expires_at: must not be after the creating key's expiry ("
    )
    sooner = format_timestamp(utcnow() + timedelta(minutes=30))
    accepted = await client.post(
        KEYS,
        headers={"x-api-key": parent},
        json={"name": "child", "permissions": ["VIEW_ACTIVITIES"], "expires_at": sooner},
    )
    assert accepted.status_code == 201
    assert accepted.json()["expiresAt"] == sooner


async def test_keys_made_by_a_person_or_a_lasting_key_need_no_expiry(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    by_key = await client.post(
        KEYS, headers=admin.headers, json={"name": "lasting", "permissions": ["VIEW_ACTIVITIES"]}
    )
    assert by_key.status_code == 201
    assert by_key.json()["expiresAt"] is None

    person = await add_person(session_factory, admin.tenant_id, "ADMIN")
    by_person = await client.post(
        KEYS,
        headers=await bearer(client, person),
        json={"name": "by a person", "permissions": ["VIEW_ACTIVITIES"]},
    )
    assert by_person.status_code == 201
    assert by_person.json()["expiresAt"] is None
