"""Two server processes on one database: administrators' changes reach both within one second."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth import service as auth
from taskbridge.db import session_scope
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate, ResultTypeUpdate
from tests.factories import World
from tests.integration.support import (
    CONFIGS,
    SUBMIT,
    UNAUTHORIZED,
    submission,
    submission_for,
)

WITHIN = 1.0


async def eventually(check: Callable[[], Awaitable[bool]], within: float = WITHIN) -> float:
    """Seconds until ``check`` holds; fails when it does not hold within ``within``."""
    started = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > within:
            pytest.fail(f"not visible within {within}s")
        await asyncio.sleep(0.05)


async def codes(client: httpx.AsyncClient, world: World) -> list[str]:
    return [c["code"] for c in (await client.get(CONFIGS, headers=world.headers)).json()]


async def test_revoked_key_is_refused_by_the_other_instance_within_a_second(
    client: httpx.AsyncClient,
    cached_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    for http in (client, cached_client):
        assert (await http.get(CONFIGS, headers=world.headers)).status_code == 200
    async with session_scope(session_factory) as session:
        [key] = await auth.list_api_keys(session, world.tenant.id)
        await auth.revoke_api_key(session, world.tenant.id, key.id)

    async def refused() -> bool:
        response = await cached_client.get(CONFIGS, headers=world.headers)
        return response.status_code == 401 and response.json() == UNAUTHORIZED

    await eventually(refused)
    submitted = await cached_client.post(SUBMIT, headers=world.headers, json=submission_for(world))
    assert submitted.status_code == 401


async def test_archived_result_type_disappears_from_the_other_instance(
    client: httpx.AsyncClient,
    cached_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    assert "SALE_COMPLETED" in await codes(cached_client, world)
    async with session_scope(session_factory) as session:
        by_code = {rt.code: rt for rt in await result_types.list_all(session, world.tenant.id)}
        await result_types.set_active(
            session, world.tenant.id, by_code["SALE_COMPLETED"].id, is_active=False
        )

    async def dropped() -> bool:
        return "SALE_COMPLETED" not in await codes(cached_client, world)

    await eventually(dropped)

    async def submission_refused() -> bool:
        # An unknown activity: 404 while the code is still accepted, 400 once it is refused.
        body = submission(uuid.uuid4(), "SALE_COMPLETED")
        response = await cached_client.post(SUBMIT, headers=world.headers, json=body)
        assert response.status_code in {400, 404}
        return response.status_code == 400

    await eventually(submission_refused)
    assert await codes(cached_client, world) == ["NOT_INTERESTED", "RESCHEDULE", "NO_CONTACT"]


async def test_added_and_relabeled_types_reach_the_other_instance(
    cached_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    async with session_scope(session_factory) as session:
        by_code = {rt.code: rt for rt in await result_types.list_all(session, world.tenant.id)}
        await result_types.update(
            session, world.tenant.id, by_code["NO_CONTACT"].id, ResultTypeUpdate(label="Ausente")
        )
        await result_types.create(
            session, world.tenant.id, ResultTypeCreate(code="CLOSED", label="Cerrado")
        )

    async def visible() -> bool:
        configs = (await cached_client.get(CONFIGS, headers=world.headers)).json()
        labels = {c["code"]: c["label"] for c in configs}
        return labels.get("NO_CONTACT") == "Ausente" and "CLOSED" in labels

    await eventually(visible)
