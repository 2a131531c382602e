"""429 ``Rate limit exceeded`` with ``Retry-After`` once a key is over its per-minute allowance."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.kit.rate_limit import RateLimiter
from tests.factories import World, create_key
from tests.integration.support import CONFIGS, ME, SUBMIT, TASKS, UNAUTHORIZED, error

PER_MINUTE = 3
LIMITED = error(429, "Rate limit exceeded")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def limited_app(settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings.model_copy(update={"rate_limit_per_minute": PER_MINUTE}))
    assert isinstance(application.state.rate_limiter, RateLimiter)
    application.state.rate_limiter = RateLimiter(PER_MINUTE, clock=clock)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def limited(limited_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=limited_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_over_the_allowance_is_429_with_retry_after(
    limited: httpx.AsyncClient, world: World, clock: FakeClock
) -> None:
    for path in (CONFIGS, TASKS, ME):
        assert (await limited.get(path, headers=world.headers)).status_code == 200
    refused = await limited.get(CONFIGS, headers=world.headers)
    assert refused.status_code == 429
    assert refused.json() == LIMITED
    assert refused.headers["retry-after"] == "20"
    submitted = await limited.post(SUBMIT, headers=world.headers, json={})
    assert submitted.status_code == 429
    clock.now += 10
    assert (await limited.get(ME, headers=world.headers)).headers["retry-after"] == "10"
    clock.now += 10
    assert (await limited.get(ME, headers=world.headers)).status_code == 200
    assert (await limited.get(ME, headers=world.headers)).status_code == 429


async def test_each_key_has_its_own_allowance(
    limited: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    async with session_scope(session_factory) as session:
        second = await create_key(session, world.tenant.id, name="second")
    for _ in range(PER_MINUTE):
        assert (await limited.get(ME, headers=world.headers)).status_code == 200
    assert (await limited.get(ME, headers=world.headers)).status_code == 429
    assert (await limited.get(ME, headers={"x-api-key": second})).status_code == 200


async def test_a_bad_key_is_401_not_429(limited: httpx.AsyncClient, world: World) -> None:
    for _ in range(PER_MINUTE + 2):
        response = await limited.get(ME, headers={"x-api-key": "tb_sk_unknownunknownunknown"})
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
    assert (await limited.get(ME, headers=world.headers)).status_code == 200


async def test_no_limit_unless_configured(client: httpx.AsyncClient, world: World) -> None:
    for _ in range(30):
        assert (await client.get(ME, headers=world.headers)).status_code == 200
