"""Task list order, page metadata and keyset cursors."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import World
from tests.integration.support import TASKS, add_tasks, error

BASE = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


async def page_of(client: httpx.AsyncClient, world: World, **params: Any) -> dict[str, Any]:
    response = await client.get(TASKS, params=params, headers=world.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def many_tasks(
    factory: async_sessionmaker[AsyncSession], world: World, count: int
) -> list[str]:
    """``count`` tasks, three sharing each ``scheduled_at``; ids newest first, ties by id desc."""
    at = [BASE + timedelta(hours=i // 3) for i in range(count)]
    tasks = [world.task, *await add_tasks(factory, world.tenant.id, at)]
    ordered = sorted(tasks, key=lambda t: (t.scheduled_at, t.id), reverse=True)
    return [str(t.id) for t in ordered]


async def test_newest_scheduled_first_with_ties_by_id(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    expected = await many_tasks(session_factory, world, 12)
    body = await page_of(client, world, per_page=100)
    assert [t["id"] for t in body["data"]] == expected
    scheduled = [t["scheduledAt"] for t in body["data"]]
    assert scheduled == sorted(scheduled, reverse=True)


async def test_page_metadata(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    expected = await many_tasks(session_factory, world, 24)
    first = await page_of(client, world, per_page=10)
    assert first["meta"]["nextCursor"]
    assert {**first["meta"], "nextCursor": None} == {
        "page": 1,
        "limit": 10,
        "total": 25,
        "totalPages": 3,
        "nextCursor": None,
    }
    last = await page_of(client, world, per_page=10, page=3)
    assert last["meta"] == {
        "page": 3,
        "limit": 10,
        "total": 25,
        "totalPages": 3,
        "nextCursor": None,
    }
    assert [t["id"] for t in last["data"]] == expected[20:]
    beyond = await page_of(client, world, per_page=10, page=4)
    assert beyond["data"] == []
    assert beyond["meta"] == {**last["meta"], "page": 4}
    default = await page_of(client, world)
    assert default["meta"]["limit"] == 20
    assert [t["id"] for t in default["data"]] == expected[:20]


async def test_exact_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await many_tasks(session_factory, world, 9)
    body = await page_of(client, world, per_page=5, page=2)
    assert len(body["data"]) == 5
    assert body["meta"]["nextCursor"] is None
    assert body["meta"]["totalPages"] == 2


async def walk_with_cursor(client: httpx.AsyncClient, world: World, **params: Any) -> list[str]:
    seen: list[str] = []
    body = await page_of(client, world, **params)
    while True:
        seen.extend(t["id"] for t in body["data"])
        cursor = body["meta"]["nextCursor"]
        if cursor is None:
            return seen
        body = await page_of(client, world, **params, cursor=cursor, page=99)
        assert body["meta"]["page"] is None


async def walk_with_pages(client: httpx.AsyncClient, world: World, **params: Any) -> list[str]:
    first = await page_of(client, world, **params)
    seen = [t["id"] for t in first["data"]]
    for page in range(2, first["meta"]["totalPages"] + 1):
        seen.extend(t["id"] for t in (await page_of(client, world, **params, page=page))["data"])
    return seen


@pytest.mark.parametrize("per_page", [1, 4, 7, 100])
async def test_cursor_walk_equals_offset_walk(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    per_page: int,
) -> None:
    expected = await many_tasks(session_factory, world, 29)
    by_cursor = await walk_with_cursor(client, world, per_page=per_page)
    by_page = await walk_with_pages(client, world, per_page=per_page)
    assert by_cursor == by_page == expected
    assert len(set(by_cursor)) == len(by_cursor) == 30


async def test_cursor_walk_keeps_the_filters(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await many_tasks(session_factory, world, 20)
    window = {"scheduled_from": "2026-05-01T10:00:00Z", "scheduled_to": "2026-05-01T13:00:00Z"}
    by_cursor = await walk_with_cursor(client, world, per_page=2, **window)
    by_page = await walk_with_pages(client, world, per_page=2, **window)
    assert by_cursor == by_page
    assert len(by_cursor) == 12


def forged(at: str, activity_id: str) -> str:
    raw = json.dumps({"at": at, "id": activity_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_tampered_cursor_is_400(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await many_tasks(session_factory, world, 5)
    cursor = (await page_of(client, world, per_page=2))["meta"]["nextCursor"]
    flipped = [cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :] for i in (0, 10)]
    tampered = [
        "garbage",
        cursor[:-3],
        cursor + "x",
        *flipped,
        forged("2026-05-01T09:00:00+00:00", str(uuid.uuid4())),
        forged("not a date", str(uuid.uuid4())),
    ]
    message = "cursor: is not a cursor this server issued; pass meta.nextCursor unchanged"
    for token in tampered:
        response = await client.get(
            TASKS, params={"cursor": token, "per_page": 2}, headers=world.headers
        )
        assert response.status_code == 400, token
        assert response.json() == error(
            400, message, details=[{"field": "cursor", "message": message}]
        ), token
