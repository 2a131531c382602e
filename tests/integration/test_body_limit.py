"""413 ``Request body too large`` above the configured limit, declared or streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.app import create_app
from taskbridge.config import Settings
from tests.factories import World
from tests.integration.support import SUBMIT, count_results, error, submission_for

LIMIT = 1024
TOO_LARGE = error(413, "Request body too large")


@pytest.fixture
async def small_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings.model_copy(update={"max_body_bytes": LIMIT}))
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def small_client(small_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=small_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def body_of_size(world: World, size: int) -> bytes:
    """A valid submission padded with a comment to exactly ``size`` bytes."""
    body = submission_for(world, task_result={"comment": ""})
    bare = len(json.dumps(body).encode())
    body["task_result"]["comment"] = "x" * (size - bare)
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


async def chunks(raw: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


async def test_declared_length_above_the_limit_is_413(
    small_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    headers = {**world.headers, "content-type": "application/json"}
    response = await small_client.post(
        SUBMIT, content=body_of_size(world, LIMIT + 1), headers=headers
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert await count_results(session_factory) == 0


async def test_chunked_body_above_the_limit_is_413(
    small_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    headers = {**world.headers, "content-type": "application/json"}
    response = await small_client.post(
        SUBMIT, content=chunks(body_of_size(world, LIMIT + 1)), headers=headers
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert await count_results(session_factory) == 0


async def test_body_at_the_limit_is_accepted(small_client: httpx.AsyncClient, world: World) -> None:
    headers = {**world.headers, "content-type": "application/json"}
    declared = await small_client.post(SUBMIT, content=body_of_size(world, LIMIT), headers=headers)
    assert declared.status_code == 201, declared.text
    streamed = await small_client.post(
        SUBMIT, content=chunks(body_of_size(world, LIMIT)), headers=headers
    )
    assert streamed.status_code == 409, streamed.text


async def test_default_limit_is_one_mebibyte(client: httpx.AsyncClient, world: World) -> None:
    headers = {**world.headers, "content-type": "application/json"}
    response = await client.post(
        SUBMIT, content=body_of_size(world, 1024 * 1024 + 1), headers=headers
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
