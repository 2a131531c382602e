"""Rate limits per API key, per person and per tenant: 429 in the contract body with
``Retry-After`` and the ``RateLimit`` fields, counted in Redis across ``taskbridge serve``
processes, in memory for one process, off (and said so) for several without Redis, and open
while Redis is away.

Quotas are a few requests per minute, counted from each counter's first request: every test
finishes well inside its window, so no outcome depends on timing. Every counter is named by a
key, person or tenant id created for the test, so tests sharing a Redis database never meet.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import ValidationError

from taskbridge.app import create_app
from taskbridge.cli.serve import RATE_LIMITS_OFF
from taskbridge.config import Settings, describe_invalid_settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.integration.configs import ConfigsFastPath
from tests.conftest import clean_settings
from tests.factories import create_key, create_seed_result_types, create_tenant
from tests.integration.support import CONFIGS, TASKS
from tests.servers import HANG_GUARD_SECONDS, Server, server_env, start_server, stop, wait_for
from tests.users.support import add_person, bearer

REDIS_URL = os.environ.get("TASKBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PER_KEY, PER_TENANT = 5, 8
LIMITS = {
    "TASKBRIDGE_RATE_LIMIT_PER_KEY": f"{PER_KEY}/minute",
    "TASKBRIDGE_RATE_LIMIT_PER_TENANT": f"{PER_TENANT}/minute",
}


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    keys: list[str]


def seed(settings: Settings, keys: int = 1) -> Tenant:
    """A new tenant (seed result types) with ``keys`` integrator keys, written directly."""

    async def write() -> Tenant:
        engine = create_engine(settings)
        try:
            async with session_scope(create_session_factory(engine)) as session:
                tenant = await create_tenant(session, f"t{uuid.uuid4().hex[:10]}")
                await create_seed_result_types(session, tenant.id)
                made = [await create_key(session, tenant.id) for _ in range(keys)]
            return Tenant(tenant.id, made)
        finally:
            await engine.dispose()

    return asyncio.run(write())


def assert_refused(response: httpx.Response, policy: str, quota: int) -> None:
    """The 429 a client sees: the contract body, ``Retry-After`` and the draft's fields."""
    assert response.status_code == 429, response.text
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    body = response.json()
    assert body["statusCode"] == 429
    assert body["error"] == "Too Many Requests"
    assert body["message"] == f"Rate limit exceeded ({policy}): retry in {wait} s"
    assert response.headers["RateLimit-Policy"] == f'"{policy}";q={quota};w=60'
    assert response.headers["RateLimit"] == f'"{policy}";r=0;t={wait}'


def refused_count(scope: str) -> float:
    return REGISTRY.get_sample_value("taskbridge_rate_limited_total", {"scope": scope}) or 0.0


# Two `taskbridge serve` processes sharing one Redis.


@dataclass(frozen=True)
class Shared:
    settings: Settings
    servers: tuple[Server, Server]

    def get(self, index: int, path: str, key: str) -> httpx.Response:
        server = self.servers[index % 2]
        return httpx.get(server.url + path, headers={"x-api-key": key}, timeout=10)


@pytest.fixture(scope="module")
def redis_reachable() -> None:
    """CI starts Redis (``.ci/run``); without it these tests fail here, saying so."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}): start redis-server")


@pytest.fixture(scope="module")
def shared(
    migrated_template: Path | str, tmp_path_factory: pytest.TempPathFactory, redis_reachable: None
) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("rate-limits")
    (folder / "data").mkdir()
    settings = clean_settings(migrated_template, folder / "data")
    env = server_env(settings, TASKBRIDGE_REDIS_URL=REDIS_URL, **LIMITS)
    started = [start_server(env, folder), start_server(env, folder)]
    try:
        wait_for(started)
        yield Shared(settings, (started[0], started[1]))
    finally:
        stop(server.process for server in started)


def test_one_keys_allowance_is_shared_by_every_process(shared: Shared) -> None:
    key = seed(shared.settings).keys[0]
    answers = [shared.get(i, TASKS, key) for i in range(PER_KEY + 2)]
    assert [r.status_code for r in answers[:PER_KEY]] == [200] * PER_KEY
    for refused in answers[PER_KEY:]:  # from either process
        assert_refused(refused, "per-key", PER_KEY)


def test_keys_of_a_tenant_share_its_allowance_and_other_tenants_keep_theirs(
    shared: Shared,
) -> None:
    tenant, other = seed(shared.settings, keys=2), seed(shared.settings)
    first, second = tenant.keys
    spent = [shared.get(i, TASKS, first).status_code for i in range(PER_KEY)]
    assert spent == [200] * PER_KEY
    assert_refused(shared.get(0, TASKS, first), "per-key", PER_KEY)  # not counted for the tenant
    left = PER_TENANT - PER_KEY
    assert [shared.get(i, TASKS, second).status_code for i in range(left)] == [200] * left
    assert_refused(shared.get(1, TASKS, second), "per-tenant", PER_TENANT)
    assert shared.get(0, TASKS, other.keys[0]).status_code == 200
    assert shared.get(1, TASKS, other.keys[0]).status_code == 200


def test_the_configs_fast_path_counts_against_the_same_allowance(shared: Shared) -> None:
    key = seed(shared.settings).keys[0]
    answers = [shared.get(i, CONFIGS, key) for i in range(PER_KEY)]
    assert [r.status_code for r in answers] == [200] * PER_KEY
    assert_refused(shared.get(0, CONFIGS, key), "per-key", PER_KEY)
    assert_refused(shared.get(1, TASKS, key), "per-key", PER_KEY)


# One process, in memory.


@pytest.fixture
async def limited_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """One process's app with no Redis: the limits are counted in its memory."""
    application = create_app(
        settings.model_copy(
            update={
                "rate_limit_per_key": "3/minute",
                "rate_limit_per_tenant": "4/minute",
                "cache_ttl_seconds": 1.0,  # as in production, so the configs fast path answers
            }
        )
    )
    assert application.state.rate_limits.enforced
    yield application
    await application.state.engine.dispose()


def asgi_client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_one_process_without_redis_counts_in_memory(
    limited_app: FastAPI, settings: Settings
) -> None:
    key = (await asyncio.to_thread(seed, settings)).keys[0]
    before = refused_count("key")
    async with asgi_client(limited_app) as http:
        statuses = [(await http.get(TASKS, headers={"x-api-key": key})).status_code for _ in "abc"]
        assert statuses == [200, 200, 200]
        response = await http.get(TASKS, headers={"x-api-key": key})
    assert response.status_code == 429
    assert response.headers["RateLimit-Policy"] == '"per-key";q=3;w=60'
    assert refused_count("key") == before + 1


async def test_a_persons_bearer_calls_count_for_them_and_their_tenant(
    limited_app: FastAPI, settings: Settings
) -> None:
    tenant = await asyncio.to_thread(seed, settings)
    person = await add_person(limited_app.state.session_factory, tenant.id, "ADMIN")
    async with asgi_client(limited_app) as http:
        headers = await bearer(http, person)
        spent = [(await http.get("/api/commerces", headers=headers)).status_code for _ in "abc"]
        assert spent == [200, 200, 200]
        assert (
            (await http.get("/api/commerces", headers=headers))
            .headers["RateLimit"]
            .startswith('"per-user";r=0;')
        )
        # The tenant has one request left (4/minute, 3 spent by the person): the key takes it.
        key = {"x-api-key": tenant.keys[0]}
        assert (await http.get(TASKS, headers=key)).status_code == 200
        assert_refused(await http.get(TASKS, headers=key), "per-tenant", 4)


async def test_the_configs_fast_path_refuses_without_reaching_the_route(
    limited_app: FastAPI, settings: Settings
) -> None:
    key = (await asyncio.to_thread(seed, settings)).keys[0]
    state = limited_app.state
    reached: list[str] = []

    async def route(scope: object, receive: object, send: object) -> None:
        reached.append("route")
        await limited_app(scope, receive, send)  # type: ignore[arg-type]

    fast_path = ConfigsFastPath(
        route, keys=state.api_key_cache, catalogues=state.catalogue_cache, limits=state.rate_limits
    )
    async with asgi_client(fast_path) as http:
        statuses = [
            (await http.get(CONFIGS, headers={"x-api-key": key})).status_code for _ in "abc"
        ]
        refused = await http.get(CONFIGS, headers={"x-api-key": key})
    assert statuses == [200, 200, 200]
    assert reached == ["route"]  # the first request filled the caches; the rest were answered here
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("Rate limit exceeded (per-key): retry in ")


# Several processes without Redis; Redis away.


def test_serve_with_two_workers_and_no_redis_says_limits_are_off(
    settings: Settings, tmp_path: Path
) -> None:
    """The warning comes before any worker starts: the test stops the server once it is out."""
    server = start_server(server_env(settings, **LIMITS), tmp_path, "--workers", "2")
    warning = RATE_LIMITS_OFF.format(workers=2)
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    try:
        while warning not in server.output() and "Uvicorn running" not in server.output():
            assert server.process.poll() is None, server.output()
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.2)
    finally:
        stop([server.process])
    assert server.output().count(warning) == 1, server.output()


async def test_workers_without_redis_count_nothing(settings: Settings) -> None:
    """What each of those workers builds (``serve`` sets ``TASKBRIDGE_WORKERS``)."""
    key = (await asyncio.to_thread(seed, settings)).keys[0]
    worker = create_app(
        settings.model_copy(update={"workers": 2, "rate_limit_per_key": "1/minute"})
    )
    try:
        assert not worker.state.rate_limits.enforced
        async with asgi_client(worker) as http:
            statuses = {
                (await http.get(TASKS, headers={"x-api-key": key})).status_code for _ in "ab"
            }
        assert statuses == {200}
    finally:
        await worker.state.engine.dispose()


def test_requests_are_served_while_redis_is_away_and_that_is_logged_once(
    settings: Settings, tmp_path: Path
) -> None:
    tenant = seed(settings)
    nobody = "redis://127.0.0.1:9/0"  # the discard port: nothing listens on loopback
    env = server_env(settings, TASKBRIDGE_REDIS_URL=nobody, **LIMITS)
    server = start_server(env, tmp_path)
    try:
        wait_for([server])
        statuses = {
            httpx.get(server.url + TASKS, headers={"x-api-key": tenant.keys[0]}).status_code
            for _ in range(PER_KEY + 2)
        }
    finally:
        stop([server.process])
    assert statuses == {200}
    assert server.output().count("rate_limit_storage_unavailable") == 1, server.output()


# Settings.


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TASKBRIDGE_RATE_LIMIT_PER_KEY", "lots"),
        ("TASKBRIDGE_RATE_LIMIT_PER_TENANT", "0/second"),
        ("TASKBRIDGE_RATE_LIMIT_PER_KEY", "10/second;100/minute"),
        ("TASKBRIDGE_REDIS_URL", "http://127.0.0.1:6379"),
    ],
)
def test_a_bad_limit_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    line = describe_invalid_settings(caught.value)
    assert line.startswith(variable), line
    assert "\n" not in line


def test_an_empty_rate_turns_that_limit_off(settings: Settings) -> None:
    off = create_app(
        settings.model_copy(update={"rate_limit_per_key": "", "rate_limit_per_tenant": ""})
    )
    assert not off.state.rate_limits.enforced
    one_left = create_app(settings.model_copy(update={"rate_limit_per_key": ""}))
    assert list(one_left.state.rate_limits.policies) == ["per-tenant"]
