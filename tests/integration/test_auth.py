"""401 and 403 on every integration endpoint, and that they come before any 400."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth import service as auth
from taskbridge.auth.permissions import Permission
from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.models import ApiKey
from tests.factories import World, create_key
from tests.integration.support import (
    CONFIGS,
    ME,
    SUBMIT,
    TASKS,
    UNAUTHORIZED,
    error,
    forbidden,
    submission_for,
)

VIEW = "VIEW_ACTIVITIES"
SUBMIT_PERMISSION = "SUBMIT_ACTIVITY_RESULT"


def endpoints(world: World) -> list[tuple[str, str, str | None]]:
    """(method, path, permission) for every integration route; ``None``: any valid key."""
    return [
        ("GET", CONFIGS, VIEW),
        ("GET", TASKS, VIEW),
        ("GET", f"{TASKS}/{world.task.id}", VIEW),
        ("POST", SUBMIT, SUBMIT_PERMISSION),
        ("GET", ME, None),
    ]


async def call(
    client: httpx.AsyncClient, method: str, path: str, world: World, headers: dict[str, str]
) -> httpx.Response:
    body = submission_for(world) if method == "POST" else None
    return await client.request(method, path, headers=headers, json=body)


async def assert_refused_everywhere(
    client: httpx.AsyncClient, world: World, headers: dict[str, str]
) -> None:
    for method, path, _ in endpoints(world):
        response = await call(client, method, path, world, headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json() == UNAUTHORIZED, (method, path)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": ""},
        {"x-api-key": "not-a-key"},
        {"x-api-key": "tb_sk_"},
        {"x-api-key": "tb_sk_" + "x" * 300},
        {"x-api-key": "tb_sk_thisKeyWasNeverIssuedToAnybodyAtAll"},
    ],
    ids=["absent", "empty", "malformed", "prefix-only", "too-long", "unknown"],
)
async def test_missing_or_unknown_key_is_401_everywhere(
    client: httpx.AsyncClient, world: World, headers: dict[str, str]
) -> None:
    await assert_refused_everywhere(client, world, headers)


async def test_revoked_key_is_401_everywhere(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    assert (await client.get(ME, headers=world.headers)).status_code == 200
    async with session_scope(session_factory) as session:
        [key] = await auth.list_api_keys(session, world.tenant.id)
        await auth.revoke_api_key(session, world.tenant.id, key.id)
    await assert_refused_everywhere(client, world, world.headers)


async def test_expired_key_is_401_everywhere(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.tenant_id == world.tenant.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    await assert_refused_everywhere(client, world, world.headers)


async def test_key_expiring_later_is_accepted(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        created = await auth.create_api_key(
            session,
            world.tenant.id,
            name="temporary",
            permissions=[VIEW],
            expires_at=utcnow() + timedelta(hours=1),
        )
    response = await client.get(CONFIGS, headers={"x-api-key": created.plaintext})
    assert response.status_code == 200


async def test_bearer_token_alone_is_401(client: httpx.AsyncClient, world: World) -> None:
    await assert_refused_everywhere(client, world, {"Authorization": f"Bearer {world.key}"})


async def test_key_in_another_header_is_401(client: httpx.AsyncClient, world: World) -> None:
    await assert_refused_everywhere(client, world, {"x-api-token": world.key})


async def test_missing_permission_is_403_naming_it(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        view_only = await create_key(session, world.tenant.id, Permission.VIEW_ACTIVITIES)
        submit_only = await create_key(session, world.tenant.id, Permission.SUBMIT_ACTIVITY_RESULT)
        unrelated = await create_key(session, world.tenant.id, Permission.MANAGE_COMMERCES)
    for method, path, permission in endpoints(world):
        for key in (view_only, submit_only, unrelated):
            response = await call(client, method, path, world, {"x-api-key": key})
            holds = {view_only: VIEW, submit_only: SUBMIT_PERMISSION}.get(key)
            if permission is None or permission == holds:
                assert response.status_code in {200, 201}, (method, path, response.text)
                continue
            assert response.status_code == 403, (method, path, response.text)
            assert response.json() == forbidden(permission), (method, path)


async def test_auth_comes_before_malformed_json(client: httpx.AsyncClient, world: World) -> None:
    broken = {"content-type": "application/json"}
    no_key = await client.post(SUBMIT, content=b"{not json", headers=broken)
    assert no_key.status_code == 401
    assert no_key.json() == UNAUTHORIZED


async def test_permission_comes_before_malformed_json(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        view_only = await create_key(session, world.tenant.id, Permission.VIEW_ACTIVITIES)
    response = await client.post(
        SUBMIT,
        content=b"{not json",
        headers={"content-type": "application/json", "x-api-key": view_only},
    )
    assert response.status_code == 403
    assert response.json() == forbidden(SUBMIT_PERMISSION)


async def test_malformed_json_with_a_valid_key_is_400(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        SUBMIT, content=b"{not json", headers={**world.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert body["message"].startswith("body: malformed JSON")


@pytest.mark.parametrize(
    "path",
    [f"{TASKS}?per_page=0", f"{TASKS}?status=DONE", f"{TASKS}/not-a-uuid"],
    ids=["bad-per-page", "bad-enum", "bad-path-id"],
)
async def test_auth_comes_before_invalid_parameters(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


async def test_unknown_route_keeps_the_error_body(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/integration/nothing-here", headers=world.headers)
    assert response.status_code == 404
    assert response.json() == error(404, "Route not found")


async def test_wrong_method_keeps_the_error_body(client: httpx.AsyncClient, world: World) -> None:
    response = await client.delete(ME, headers=world.headers)
    assert response.status_code == 405
    assert response.json() == error(405, "Method not allowed")
