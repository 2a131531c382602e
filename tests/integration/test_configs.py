"""GET /api/integration/task-result-type-configs."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate, ResultTypeUpdate
from tests.factories import World, create_key, create_tenant
from tests.integration.support import CONFIGS

SEED = [
    {"code": "SALE_COMPLETED", "label": "Venta completada", "requiresFutureScheduledAt": False},
    {"code": "NOT_INTERESTED", "label": "No interesado", "requiresFutureScheduledAt": False},
    {"code": "RESCHEDULE", "label": "Reprogramar visita", "requiresFutureScheduledAt": True},
    {"code": "NO_CONTACT", "label": "Sin contacto", "requiresFutureScheduledAt": False},
]


async def result_type_id(
    factory: async_sessionmaker[AsyncSession], world: World, code: str
) -> uuid.UUID:
    async with session_scope(factory) as session:
        found = {rt.code: rt.id for rt in await result_types.list_all(session, world.tenant.id)}
    return found[code]


async def test_bare_array_of_exactly_three_keys_in_display_order(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(CONFIGS, headers=world.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == SEED
    for item in response.json():
        assert list(item) == ["code", "label", "requiresFutureScheduledAt"]


async def test_reordering_changes_the_display_order(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    order = ["NO_CONTACT", "RESCHEDULE", "SALE_COMPLETED", "NOT_INTERESTED"]
    async with session_scope(session_factory) as session:
        await result_types.reorder(session, world.tenant.id, order)
    response = await client.get(CONFIGS, headers=world.headers)
    assert [c["code"] for c in response.json()] == order


async def test_only_active_result_types_are_listed(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    archived = await result_type_id(session_factory, world, "NOT_INTERESTED")
    async with session_scope(session_factory) as session:
        await result_types.set_active(session, world.tenant.id, archived, is_active=False)
        await result_types.create(
            session, world.tenant.id, ResultTypeCreate(code="CLOSED", label="Cerrado")
        )
    response = await client.get(CONFIGS, headers=world.headers)
    assert [c["code"] for c in response.json()] == [
        "SALE_COMPLETED",
        "RESCHEDULE",
        "NO_CONTACT",
        "CLOSED",
    ]


async def test_tenant_without_configs_gets_an_empty_array(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        empty = await create_tenant(session, "empty")
        key = await create_key(session, empty.id)
    response = await client.get(CONFIGS, headers={"x-api-key": key})
    assert response.status_code == 200
    assert response.content == b"[]"


async def test_tenant_sees_only_its_own_configs(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        other = await create_tenant(session, "other")
        await result_types.create(
            session, other.id, ResultTypeCreate(code="OTHER_ONLY", label="Solo otro")
        )
        key = await create_key(session, other.id)
    response = await client.get(CONFIGS, headers={"x-api-key": key})
    assert response.json() == [
        {"code": "OTHER_ONLY", "label": "Solo otro", "requiresFutureScheduledAt": False}
    ]


async def test_etag_and_if_none_match(client: httpx.AsyncClient, world: World) -> None:
    first = await client.get(CONFIGS, headers=world.headers)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]+"', etag)
    again = await client.get(CONFIGS, headers={**world.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = await client.get(CONFIGS, headers={**world.headers, "If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    listed = await client.get(CONFIGS, headers={**world.headers, "If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304
    stale = await client.get(CONFIGS, headers={**world.headers, "If-None-Match": '"stale"'})
    assert stale.status_code == 200
    assert stale.json() == SEED


async def test_etag_changes_after_a_relabel(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    etag = (await client.get(CONFIGS, headers=world.headers)).headers["etag"]
    relabeled = await result_type_id(session_factory, world, "SALE_COMPLETED")
    async with session_scope(session_factory) as session:
        await result_types.update(
            session,
            world.tenant.id,
            relabeled,
            ResultTypeUpdate(label="Venta cerrada"),
        )
    response = await client.get(CONFIGS, headers={**world.headers, "If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag
    assert response.json()[0] == {
        "code": "SALE_COMPLETED",
        "label": "Venta cerrada",
        "requiresFutureScheduledAt": False,
    }


async def test_not_modified_needs_the_same_permission(
    client: httpx.AsyncClient, world: World
) -> None:
    etag = (await client.get(CONFIGS, headers=world.headers)).headers["etag"]
    response = await client.get(CONFIGS, headers={"If-None-Match": etag})
    assert response.status_code == 401


@pytest.mark.parametrize("accept_language", ["en", "en-US,en;q=0.9", "fr;q=0.9, en;q=0.8"])
async def test_accept_language_returns_a_translation_where_given(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    accept_language: str,
) -> None:
    translated = await result_type_id(session_factory, world, "SALE_COMPLETED")
    async with session_scope(session_factory) as session:
        await result_types.update(
            session,
            world.tenant.id,
            translated,
            ResultTypeUpdate(translations={"en": "Sale completed"}),
        )
    spanish = await client.get(CONFIGS, headers=world.headers)
    english = await client.get(
        CONFIGS, headers={**world.headers, "Accept-Language": accept_language}
    )
    assert english.status_code == 200
    assert [c["label"] for c in english.json()] == [
        "Sale completed",
        "No interesado",
        "Reprogramar visita",
        "Sin contacto",
    ]
    assert spanish.json() == SEED
    assert english.headers["etag"] != spanish.headers["etag"]
    assert "accept-language" in english.headers["vary"].lower()


async def test_unknown_language_gets_the_default_label(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(CONFIGS, headers={**world.headers, "Accept-Language": "de-DE"})
    assert response.json() == SEED
