"""Configs answered from the process caches: the same bytes as the full route, or not at all.

``ConfigsFastPath`` sits in front of the FastAPI app. Here it is put in front of an ASGI app that
answers 599, so a test sees whether a request was answered from the caches or went on to the route.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.db import session_scope
from taskbridge.integration.configs import ConfigsFastPath
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.crypto import hash_api_key
from taskbridge.kit.request_id import RequestIds
from taskbridge.kit.time import utcnow
from taskbridge.result_types.service import Catalogue
from tests.factories import World, create_key, create_tenant
from tests.integration.support import CONFIGS, UNAUTHORIZED
from tests.integration.test_configs import SEED

WENT_ON = 599


async def route_stand_in(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": WENT_ON, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def client_for(fast_path: ConfigsFastPath) -> httpx.AsyncClient:
    """The fast path behind the request ids, as ``create_app`` stacks them."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=RequestIds(fast_path)), base_url="http://testserver"
    )


@pytest.fixture
async def fast_client(cached_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The fast path over the caches of ``cached_app`` (filled by requests to ``cached_client``)."""
    state = cached_app.state
    fast_path = ConfigsFastPath(
        route_stand_in, keys=state.api_key_cache, catalogues=state.catalogue_cache
    )
    async with client_for(fast_path) as http:
        yield http


def answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.multi_items()), response.content


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"Accept-Language": "en-US,en;q=0.9"},
        {"Accept-Language": "de"},
        {"If-None-Match": '"stale"'},
    ],
)
async def test_a_cached_answer_is_the_routes_answer_byte_for_byte(
    cached_client: httpx.AsyncClient,
    fast_client: httpx.AsyncClient,
    world: World,
    extra: dict[str, str],
) -> None:
    headers = {**world.headers, **extra, "X-Request-ID": "same-request"}
    from_route = await cached_client.get(CONFIGS, headers=headers)
    from_cache = await fast_client.get(CONFIGS, headers=headers)
    assert from_route.status_code == 200
    assert answer(from_cache) == answer(from_route)
    assert from_cache.json() == SEED
    assert from_cache.headers["content-type"] == "application/json"


async def test_not_modified_from_the_cache_matches_the_route(
    cached_client: httpx.AsyncClient, fast_client: httpx.AsyncClient, world: World
) -> None:
    etag = (await cached_client.get(CONFIGS, headers=world.headers)).headers["etag"]
    headers = {**world.headers, "If-None-Match": f'"other", W/{etag}', "X-Request-ID": "same"}
    from_route = await cached_client.get(CONFIGS, headers=headers)
    from_cache = await fast_client.get(CONFIGS, headers=headers)
    assert from_route.status_code == 304
    assert answer(from_cache) == answer(from_route)
    assert "content-length" not in from_cache.headers


async def test_each_tenant_gets_its_own_catalogue_from_the_cache(
    cached_client: httpx.AsyncClient,
    fast_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    async with session_scope(session_factory) as session:
        empty = await create_tenant(session, "empty")
        key = await create_key(session, empty.id)
    for headers in ({"x-api-key": key}, world.headers):
        assert (await cached_client.get(CONFIGS, headers=headers)).status_code == 200
    assert (await fast_client.get(CONFIGS, headers={"x-api-key": key})).content == b"[]"
    assert (await fast_client.get(CONFIGS, headers=world.headers)).json() == SEED


async def test_nothing_is_answered_before_the_route_has_cached_it(
    fast_client: httpx.AsyncClient, world: World
) -> None:
    assert (await fast_client.get(CONFIGS, headers=world.headers)).status_code == WENT_ON


@pytest.mark.parametrize(
    "request_args",
    [
        {"headers": {}},
        {"headers": {"x-api-key": "not-a-key"}},
        {"headers": {"x-api-key": "tb_sk_" + "A" * 43}},
        {"params": {"x": "1"}},
        {"method": "POST"},
        {"method": "HEAD"},
        {"path": CONFIGS + "/"},
        {"headers": [("Accept-Language", "en"), ("Accept-Language", "es")]},
    ],
    ids=[
        "no key",
        "malformed key",
        "unknown key",
        "query string",
        "POST",
        "HEAD",
        "trailing slash",
        "repeated header",
    ],
)
async def test_anything_else_goes_on_to_the_route(
    cached_client: httpx.AsyncClient,
    fast_client: httpx.AsyncClient,
    world: World,
    request_args: dict[str, object],
) -> None:
    assert (await cached_client.get(CONFIGS, headers=world.headers)).status_code == 200
    method = str(request_args.get("method", "GET"))
    path = str(request_args.get("path", CONFIGS))
    raw_headers = request_args.get("headers", world.headers)
    headers = httpx.Headers(raw_headers if raw_headers else None)  # type: ignore[arg-type]
    if raw_headers and "x-api-key" not in headers:
        headers["x-api-key"] = world.key
    params = request_args.get("params")
    response = await fast_client.request(method, path, headers=headers, params=params)  # type: ignore[arg-type]
    assert response.status_code == WENT_ON


async def test_an_unknown_key_remembered_as_unknown_is_refused_by_the_route(
    cached_client: httpx.AsyncClient, fast_client: httpx.AsyncClient
) -> None:
    headers = {"x-api-key": "tb_sk_" + "A" * 43}
    for _ in range(2):
        refused = await cached_client.get(CONFIGS, headers=headers)
        assert refused.status_code == 401
        assert refused.json() == UNAUTHORIZED
    assert (await fast_client.get(CONFIGS, headers=headers)).status_code == WENT_ON


async def test_a_key_without_view_permission_goes_on_to_the_route_for_its_403(
    cached_client: httpx.AsyncClient,
    fast_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    async with session_scope(session_factory) as session:
        submit_only = await create_key(session, world.tenant.id, Permission.SUBMIT_ACTIVITY_RESULT)
    assert (await cached_client.get(CONFIGS, headers=world.headers)).status_code == 200
    headers = {"x-api-key": submit_only}
    for _ in range(2):
        assert (await cached_client.get(CONFIGS, headers=headers)).status_code == 403
    assert (await fast_client.get(CONFIGS, headers=headers)).status_code == WENT_ON


async def test_a_key_that_expires_while_cached_is_not_served(
    cached_client: httpx.AsyncClient, cached_app: FastAPI, world: World
) -> None:
    """The cache entry is still fresh; the key's own expiry is checked on every request."""
    assert (await cached_client.get(CONFIGS, headers=world.headers)).status_code == 200
    keys: TtlCache[str, ApiKeyPrincipal | None] = TtlCache(60)
    # Caches of its own, fresh for a minute: the app's live 0.5 s on a clock this test does not
    # control, and an expired catalogue would make the fast path step aside for a reason not tested.
    catalogues: TtlCache[uuid.UUID, Catalogue] = TtlCache(60)
    digest = hash_api_key(world.key)
    principal = cached_app.state.api_key_cache.peek(digest)
    assert principal is not None
    catalogue = cached_app.state.catalogue_cache.peek(world.tenant.id)
    assert catalogue is not None

    async def read_catalogue() -> Catalogue:
        return catalogue

    await catalogues.get(world.tenant.id, read_catalogue)
    fast_path = ConfigsFastPath(route_stand_in, keys=keys, catalogues=catalogues)
    async with client_for(fast_path) as http:
        for expires_in, expected in ((timedelta(hours=1), 200), (timedelta(0), WENT_ON)):
            expiring = dataclasses.replace(principal, expires_at=utcnow() + expires_in)
            keys.invalidate()

            async def load(value: ApiKeyPrincipal = expiring) -> ApiKeyPrincipal:
                return value

            await keys.get(digest, load)
            assert (await http.get(CONFIGS, headers=world.headers)).status_code == expected


async def test_a_reloaded_catalogue_is_answered_from_its_own_snapshot(
    cached_client: httpx.AsyncClient, cached_app: FastAPI, world: World
) -> None:
    """Answers are prepared per snapshot: the one read after an edit is served, not the last."""
    assert (await cached_client.get(CONFIGS, headers=world.headers)).status_code == 200
    digest = hash_api_key(world.key)
    principal = cached_app.state.api_key_cache.peek(digest)
    assert principal is not None
    keys: TtlCache[str, ApiKeyPrincipal | None] = TtlCache(60)
    catalogues: TtlCache[uuid.UUID, Catalogue] = TtlCache(60)

    async def key() -> ApiKeyPrincipal:
        return principal

    await keys.get(digest, key)
    fast_path = ConfigsFastPath(route_stand_in, keys=keys, catalogues=catalogues)
    full = cached_app.state.catalogue_cache.peek(world.tenant.id)
    assert full is not None
    async with client_for(fast_path) as http:
        for snapshot in (full, Catalogue(full.entries[:1]), full):
            catalogues.invalidate()

            async def load(value: Catalogue = snapshot) -> Catalogue:
                return value

            await catalogues.get(world.tenant.id, load)
            served = await http.get(CONFIGS, headers=world.headers)
            assert [row["code"] for row in served.json()] == [e.code for e in snapshot.entries]
