"""``/metrics`` as Prometheus and an operator see it: requests by route template (never the raw
path), the answers given before routing, the pool in use, the token (or loopback) guard; and a
real ``taskbridge serve --workers 2`` whose every scrape reports the whole group's numbers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Message, Receive, Scope, Send

from taskbridge.app import create_app
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.config import Settings
from taskbridge.integration.configs import ConfigsFastPath
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.crypto import hash_api_key
from taskbridge.kit.metrics import (
    MULTIPROCESS_VARIABLE,
    UNMATCHED,
    HttpMetrics,
    forget_dead_processes,
)
from taskbridge.kit.request_id import RequestIds
from taskbridge.metrics import LOOPBACK_ONLY, TOKEN_REQUIRED
from taskbridge.result_types.service import Catalogue
from tests.factories import World, build_world
from tests.integration.support import CONFIGS
from tests.servers import HANG_GUARD_SECONDS, server_env, start_server, stop, wait_for

TOKEN = "scrape-token-0123456789abcdef"
COMMERCE = "/api/commerces/{commerce_id}"
REQUESTS = "taskbridge_http_requests_total"
POOL = "taskbridge_db_pool_connections_in_use"
RAW_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
T = TypeVar("T")


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_of(found: Samples, method: str, route: str, status: int) -> float:
    labels = frozenset({("method", method), ("route", route), ("status", str(status))})
    return found.get((REQUESTS, labels), 0.0)


def routes_in(found: Samples) -> set[str]:
    return {dict(labels)["route"] for name, labels in found if name == REQUESTS}


def raw_paths_in(found: Samples) -> list[str]:
    """Route labels holding an id: each would be a series of its own."""
    return [route for route in routes_in(found) if RAW_ID.search(route)]


def client_of(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return samples(response.text)


@pytest.fixture
async def guarded_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}))
    yield app
    await app.state.engine.dispose()


# Labels.


async def test_requests_are_counted_by_route_template_never_by_path(app: FastAPI) -> None:
    async with client_of(app) as http:
        before = await scrape(http)
        for _ in range(2):  # two ids, one series
            assert (await http.get(f"/api/commerces/{uuid.uuid4()}")).status_code == 401
        assert (await http.get(f"/no/such/{uuid.uuid4()}")).status_code == 404
        assert (await http.get("/admin/login")).status_code == 200
        assert (await http.request("BREW", "/healthz")).status_code == 405
        after = await scrape(http)
    assert requests_of(after, "GET", COMMERCE, 401) - requests_of(before, "GET", COMMERCE, 401) == 2
    assert (
        requests_of(after, "GET", UNMATCHED, 404) - requests_of(before, "GET", UNMATCHED, 404) == 1
    )
    assert requests_of(after, "GET", "/admin/login", 200) >= 1
    assert requests_of(after, "OTHER", "/healthz", 405) >= 1
    assert requests_of(after, "GET", "/metrics", 200) >= 1
    assert raw_paths_in(after) == []
    assert (POOL, frozenset()) in after


async def test_a_body_refused_before_routing_is_counted(app: FastAPI, settings: Settings) -> None:
    too_large = b"x" * (settings.max_body_bytes + 1)
    async with client_of(app) as http:
        before = await scrape(http)
        refused = await http.post("/api/integration/activity-results/tasks", content=too_large)
        after = await scrape(http)
    assert refused.status_code == 413
    assert (
        requests_of(after, "POST", UNMATCHED, 413) - requests_of(before, "POST", UNMATCHED, 413)
        == 1
    )


async def route_stand_in(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 599, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_configs_answered_from_the_caches_count_as_the_configs_route(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    world: World = await build_world(session_factory)
    cached = create_app(settings.model_copy(update={"cache_ttl_seconds": 1.0}))
    try:
        async with client_of(cached) as http:
            assert (await http.get(CONFIGS, headers=world.headers)).status_code == 200
        principal = cached.state.api_key_cache.peek(hash_api_key(world.key))
        catalogue = cached.state.catalogue_cache.peek(world.tenant.id)
    finally:
        await cached.state.engine.dispose()
    assert principal is not None
    assert catalogue is not None
    keys = TtlCache[str, ApiKeyPrincipal | None](60)
    catalogues = TtlCache[uuid.UUID, Catalogue](60)
    await keys.get(hash_api_key(world.key), lambda: _value(principal))
    await catalogues.get(world.tenant.id, lambda: _value(catalogue))
    fast = RequestIds(
        ConfigsFastPath(route_stand_in, keys=keys, catalogues=catalogues), HttpMetrics()
    )
    async with client_of(app) as scraper:
        before = await scrape(scraper)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fast), base_url="http://testserver"
        ) as http:
            answered = await http.get(CONFIGS, headers=world.headers)
        after = await scrape(scraper)
    assert answered.status_code == 200  # from the caches: the stand-in route answers 599
    assert requests_of(after, "GET", CONFIGS, 200) - requests_of(before, "GET", CONFIGS, 200) == 1


async def _value(value: T) -> T:
    return value


# Who may scrape.


async def test_without_a_token_only_loopback_clients_may_scrape(app: FastAPI) -> None:
    async with client_of(app, "::1") as local:
        assert (await local.get("/metrics")).status_code == 200
        # Passed on by a proxy on this machine (trusted or not): not a local client.
        for forwarded in ({"X-Forwarded-For": "127.0.0.1"}, {"Forwarded": "for=127.0.0.1"}):
            assert (await local.get("/metrics", headers=forwarded)).status_code == 403
    async with client_of(app, "203.0.113.7") as remote:
        refused = await remote.get("/metrics")
    assert refused.status_code == 403
    assert refused.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": LOOPBACK_ONLY,
        "requestId": refused.headers["x-request-id"],
    }


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
)
async def test_with_a_token_every_scrape_must_bring_it(
    guarded_app: FastAPI, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with client_of(guarded_app) as local:  # loopback too: the token is the rule
        refused = await local.get("/metrics", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert refused.json()["message"] == TOKEN_REQUIRED
    assert TOKEN not in refused.text


async def test_the_token_opens_metrics_from_anywhere(guarded_app: FastAPI) -> None:
    async with client_of(guarded_app, "203.0.113.7") as remote:
        answered = await remote.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert answered.status_code == 200
    assert answered.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_token_is_no_token(value: str) -> None:
    assert Settings(metrics_token=value).metrics_token is None


def test_a_short_token_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="TASKBRIDGE_METRICS_TOKEN must have at least 16"):
        Settings(metrics_token="short")


# The process group.


def per_process_requests(directory: Path, route: str) -> list[float]:
    """What each worker's own file holds for ``route`` (not what an operator reads: it shows
    that both workers answered)."""
    counts = []
    for path in sorted(directory.glob("counter_*.db")):
        merged = MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
        counts.append(
            sum(
                sample.value
                for metric in merged
                for sample in metric.samples
                if sample.name == REQUESTS and sample.labels.get("route") == route
            )
        )
    return counts


def test_every_scrape_of_two_workers_reports_the_groups_numbers(
    settings: Settings, tmp_path: Path
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = server_env(settings, TASKBRIDGE_METRICS_TOKEN=TOKEN, TMPDIR=str(temporary))
    server = start_server(env, tmp_path, "--workers", "2")
    token = {"Authorization": f"Bearer {TOKEN}"}
    try:
        wait_for([server])
        (directory,) = temporary.glob("taskbridge-metrics-*")
        assert directory.stat().st_mode & 0o777 == 0o700
        sent = 0
        # New connections each, until both workers have answered some (a hang guard, no timing).
        while sent < 20 or sum(1 for n in per_process_requests(directory, COMMERCE) if n) < 2:
            assert sent < HANG_GUARD_SECONDS * 20, per_process_requests(directory, COMMERCE)
            answered = httpx.get(f"{server.url}/api/commerces/{uuid.uuid4()}", timeout=10)
            assert answered.status_code == 401
            sent += 1
        totals = []
        for _ in range(6):
            response = httpx.get(server.url + "/metrics", headers=token, timeout=10)
            assert response.status_code == 200, response.text
            found = samples(response.text)
            totals.append(requests_of(found, "GET", COMMERCE, 401))
            assert (POOL, frozenset()) in found
            assert raw_paths_in(found) == []
        assert totals == [sent] * 6
        assert httpx.get(server.url + "/metrics", timeout=10).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token-at-all"}
        assert httpx.get(server.url + "/metrics", headers=wrong, timeout=10).status_code == 401
    finally:
        stop([server.process])
    assert not list(temporary.glob("taskbridge-metrics-*")), "the metrics directory was left"


async def test_an_unhandled_error_is_counted_as_the_500_it_becomes() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    labels = {"method": "DELETE", "route": UNMATCHED, "status": "500"}
    before = REGISTRY.get_sample_value(REQUESTS, labels) or 0.0
    with pytest.raises(RuntimeError):
        await RequestIds(failing, HttpMetrics())(
            {"type": "http", "method": "DELETE", "headers": []}, _nothing, _ignore
        )
    assert REGISTRY.get_sample_value(REQUESTS, labels) == before + 1


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


async def _ignore(message: Message) -> None:
    pass


SETS_THE_POOL_GAUGE = """
from taskbridge.kit.metrics import POOL_IN_USE, is_multiprocess
assert is_multiprocess()
POOL_IN_USE.set(3)
"""


def test_the_live_gauges_of_a_process_that_died_are_dropped(tmp_path: Path) -> None:
    env = {**os.environ, MULTIPROCESS_VARIABLE: str(tmp_path)}
    subprocess.run([sys.executable, "-c", SETS_THE_POOL_GAUGE], env=env, check=True, timeout=60)
    (dead,) = tmp_path.glob("gauge_livesum_*.db")
    alive = tmp_path / f"gauge_livesum_{os.getpid()}.db"
    shutil.copy(dead, alive)
    forget_dead_processes(tmp_path)
    assert not dead.exists()
    assert alive.exists()
