"""What the integration routes refuse that they used to let through, each as a client sees it:
a boolean that is not ``true``/``false``, a query parameter the route does not read, ``limit``
beside a different ``per_page``; and the shapes of the errors routing and the body limit send
(405 with ``Allow``, 413 in the contract body)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.kit.pagination import LIMIT_CONFLICT
from taskbridge.kit.query import UNKNOWN_PARAMETER
from tests.error_bodies import error_body
from tests.factories import World, create_task
from tests.integration.support import (
    CONFIGS,
    ME,
    SUBMIT,
    TASKS,
    UNAUTHORIZED,
    count_results,
    submission_for,
)


def refusal(field: str, rule: str) -> dict[str, Any]:
    """The 400 of one offending field, as every validation error is rendered."""
    message = f"{field}: {rule}"
    return error_body(400, message, details=[{"field": field, "message": message}])


def unknown(name: str) -> dict[str, Any]:
    return refusal(name, UNKNOWN_PARAMETER)


# --- strict booleans in the submission ------------------------------------------------------


@pytest.mark.parametrize("value", [1, 0, "true", "false", None])
async def test_hard_override_takes_only_a_json_boolean(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    value: Any,
) -> None:
    body = submission_for(world, hard_override=value)
    response = await client.post(SUBMIT, json=body, headers=world.headers)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "hard_override"
    assert await count_results(session_factory) == 0


# --- unknown query parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        (TASKS, {"search": "COM-001"}, "search"),
        (TASKS, {"commerce_id": "COM-001"}, "commerce_id"),
        (TASKS, {"status": "PENDING", "statuses": "COMPLETED"}, "statuses"),
        (CONFIGS, {"limit": "10"}, "limit"),
        (ME, {"verbose": "1"}, "verbose"),
    ],
)
async def test_a_parameter_the_route_does_not_read_is_a_400_naming_it(
    client: httpx.AsyncClient, world: World, path: str, params: dict[str, str], name: str
) -> None:
    response = await client.get(path, params=params, headers=world.headers)
    assert response.status_code == 400
    assert response.json() == unknown(name)


async def test_every_unknown_parameter_is_named(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        TASKS, params={"per_page": "5", "search": "x", "sort": "asc"}, headers=world.headers
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == f"search: {UNKNOWN_PARAMETER} (and 1 more)"
    assert [d["field"] for d in body["details"]] == ["search", "sort"]


async def test_a_task_by_id_refuses_parameters_too(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        f"{TASKS}/{world.task.id}", params={"expand": "result"}, headers=world.headers
    )
    assert response.status_code == 400
    assert response.json() == unknown("expand")


async def test_authentication_is_answered_before_an_unknown_parameter(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(TASKS, params={"search": "x"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


async def test_an_overlong_unknown_name_is_cut_in_the_answer(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(TASKS, params={"x" * 5000: "1"}, headers=world.headers)
    assert response.status_code == 400
    assert response.json() == unknown("x" * 100 + "…")


async def test_the_configs_fast_path_refuses_what_the_route_refuses(
    cached_client: httpx.AsyncClient, world: World
) -> None:
    """Once the key and catalogue are cached, the fast path answers plain requests; one with a
    query string goes on to the route, which refuses it exactly as with a cold cache."""
    headers = {**world.headers, "X-Request-ID": "same"}  # the one part of a body that may differ
    cold = await cached_client.get(CONFIGS, params={"limit": "10"}, headers=headers)
    assert (await cached_client.get(CONFIGS, headers=world.headers)).status_code == 200
    warm = await cached_client.get(CONFIGS, params={"limit": "10"}, headers=headers)
    assert cold.status_code == warm.status_code == 400
    assert cold.content == warm.content
    assert warm.json() == unknown("limit")


# --- limit, the seed system's page size -----------------------------------------------------


async def _many_tasks(client: httpx.AsyncClient, world: World) -> int:
    """How many tasks the world lists (at least two are needed to see a page size)."""
    response = await client.get(TASKS, params={"per_page": "100"}, headers=world.headers)
    return int(response.json()["meta"]["total"])


async def test_limit_is_per_page_on_the_task_list(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        await create_task(session, world.tenant.id)
    assert await _many_tasks(client, world) >= 2
    by_limit = await client.get(TASKS, params={"limit": "1"}, headers=world.headers)
    by_per_page = await client.get(TASKS, params={"per_page": "1"}, headers=world.headers)
    both = await client.get(TASKS, params={"limit": "1", "per_page": "1"}, headers=world.headers)
    assert by_limit.status_code == by_per_page.status_code == both.status_code == 200
    assert by_limit.json() == by_per_page.json() == both.json()
    assert by_limit.json()["meta"]["limit"] == 1
    assert len(by_limit.json()["data"]) == 1


async def test_limit_and_a_different_per_page_are_a_400(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(
        TASKS, params={"limit": "10", "per_page": "20"}, headers=world.headers
    )
    assert response.status_code == 400
    assert response.json() == refusal("limit", LIMIT_CONFLICT)


@pytest.mark.parametrize(
    ("value", "rule"), [("0", "must be at least 1"), ("101", "must be at most 100")]
)
async def test_limit_has_the_bounds_of_per_page(
    client: httpx.AsyncClient, world: World, value: str, rule: str
) -> None:
    response = await client.get(TASKS, params={"limit": value}, headers=world.headers)
    assert response.status_code == 400
    assert response.json() == refusal("limit", rule)


# --- what routing and the body limit answer -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", ME, "GET"),
        ("DELETE", TASKS, "GET"),
        ("GET", SUBMIT, "POST"),
        ("DELETE", "/api/task-result-type-configs", "GET, POST"),
        ("PUT", f"/api/task-result-type-configs/{uuid.uuid4()}", "DELETE, PATCH"),
    ],
)
async def test_405_says_which_methods_the_path_accepts(
    client: httpx.AsyncClient, world: World, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path, headers=world.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == error_body(405, "Method not allowed")


LIMIT = 1024


@pytest.fixture
async def small_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(settings.model_copy(update={"max_body_bytes": LIMIT}))
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.engine.dispose()


async def _streamed(raw: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), 100):
        yield raw[start : start + 100]


async def test_413_is_rendered_as_every_other_error(
    small_client: httpx.AsyncClient, world: World
) -> None:
    """Declared too large (refused before the app) and streamed too large (refused inside it):
    the same bytes, the same headers a client parses, in the contract body."""
    raw = b'{"comment": "' + b"x" * LIMIT + b'"}'
    headers = {**world.headers, "content-type": "application/json", "X-Request-ID": "same"}
    declared = await small_client.post(SUBMIT, content=raw, headers=headers)
    streamed = await small_client.post(SUBMIT, content=_streamed(raw), headers=headers)
    assert declared.status_code == streamed.status_code == 413
    assert declared.content == streamed.content
    assert declared.json() == error_body(413, "Request body too large")
    assert declared.headers["content-type"] == streamed.headers["content-type"]
    assert declared.headers["content-type"] == "application/json"
    assert declared.headers["connection"] == "close"
