"""GET /api/integration/me: what a key is and what it may do."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth import service as auth
from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from tests.factories import World
from tests.integration.support import ME, TIMESTAMP, stamp


async def test_exact_shape_for_an_integrator_key(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(ME, headers=world.headers)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["tenant", "apiKey"]
    assert body["tenant"] == {"id": str(world.tenant.id), "name": "Acme", "slug": "acme"}
    api_key = body["apiKey"]
    assert list(api_key) == [
        "id",
        "name",
        "keyPrefix",
        "permissions",
        "expiresAt",
        "lastUsedAt",
        "createdAt",
    ]
    assert api_key["name"] == "key"
    assert api_key["keyPrefix"] == world.key[:14]
    assert api_key["permissions"] == ["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]
    assert api_key["expiresAt"] is None
    assert TIMESTAMP.match(api_key["lastUsedAt"])
    assert TIMESTAMP.match(api_key["createdAt"])


async def test_any_valid_key_may_ask(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    expires = utcnow() + timedelta(days=30)
    async with session_scope(session_factory) as session:
        created = await auth.create_api_key(
            session,
            world.tenant.id,
            name="commerce sync",
            permissions=["SYNC_COMMERCES", "MANAGE_COMMERCES"],
            expires_at=expires,
        )
    response = await client.get(ME, headers={"x-api-key": created.plaintext})
    assert response.status_code == 200
    api_key = response.json()["apiKey"]
    assert api_key["id"] == str(created.key.id)
    assert api_key["name"] == "commerce sync"
    assert api_key["permissions"] == ["MANAGE_COMMERCES", "SYNC_COMMERCES"]
    assert api_key["expiresAt"] == stamp(expires)
    assert api_key["createdAt"] == stamp(created.key.created_at)


async def test_each_key_sees_its_own_tenant(
    client: httpx.AsyncClient, world: World, other_world: World
) -> None:
    mine = (await client.get(ME, headers=world.headers)).json()
    theirs = (await client.get(ME, headers=other_world.headers)).json()
    assert mine["tenant"]["slug"] == "acme"
    assert theirs["tenant"] == {
        "id": str(other_world.tenant.id),
        "name": "Globex",
        "slug": "globex",
    }
    assert mine["apiKey"]["id"] != theirs["apiKey"]["id"]
