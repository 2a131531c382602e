"""The task list's fast path answers exactly what the route answers, or leaves it to the route.

``cached_client`` is a process with the production key cache, where ``TaskPageFastPath`` answers
on PostgreSQL once the key is cached; ``client`` caches nothing, so the route answers every one
of its requests. Each query is sent to both and the answers compared; on PostgreSQL a 200 from
``cached_client`` must also have sent no statement through SQLAlchemy (the fast path answered).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth import service as auth
from taskbridge.db import session_scope
from tests.conftest import is_postgres
from tests.factories import World
from tests.integration.support import (
    TASKS,
    UNAUTHORIZED,
    sent_statements,
    terminate_other_connections,
)
from tests.integration.test_multi_instance import eventually
from tests.integration.test_query_count import seed_150_tasks_with_results

BASE = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


ANSWERED = [
    "",
    "per_page=1",
    "per_page=100",
    "limit=7",
    "per_page=7&limit=7",
    "page=2&per_page=20",
    "page=9&per_page=20",
    "page=500&per_page=100",
    "per_page=5&per_page=9",
    "status=COMPLETED",
    "status=PENDING&per_page=50",
    "status=CANCELLED",
    "status=IN_PROGRESS&page=2&per_page=2",
    "result_status=EFFECTIVE",
    "result_status=PENDING&channel=SMS",
    "channel=SALESMAN&per_page=3&page=2",
    "external_commerce_id=COM-3",
    "external_commerce_id=NOPE",
    "external_operator_id=OP-2&status=COMPLETED",
    f"scheduled_from={stamp(BASE + timedelta(minutes=40))}"
    f"&scheduled_to={stamp(BASE + timedelta(minutes=90))}",
    f"updated_since={stamp(BASE)}",
    "scheduled_from=2026-05-01T11:00:00%2B02:00",
]
REFUSED = [
    "per_page=0",
    "per_page=101",
    "limit=5&per_page=6",
    "page=0",
    "page=abc",
    "status=DONE",
    "channel=",
    "cursor=not-a-cursor",
    "search=x",
    "per_page=5&search=x",
    "external_commerce_id=%00",
    "scheduled_from=2026-05-01T09:00:00",
]


@pytest.fixture
def orm_statements(cached_app: FastAPI) -> Iterator[list[str]]:
    """The statements on tasks ``cached_app`` sends through SQLAlchemy (the fast path sends
    none; the key cache's refreshes, on their own schedule, are not recorded)."""
    with sent_statements(cached_app, lambda statement: "activities" in statement) as sent:
        yield sent


@pytest.fixture
async def seeded(session_factory: async_sessionmaker[AsyncSession], world: World) -> World:
    await seed_150_tasks_with_results(session_factory, world)
    return world


def comparable(response: httpx.Response) -> tuple[int, str | None, Any]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("requestId", None)  # each answer has its own
    return response.status_code, response.headers.get("content-type"), body


async def both(
    client: httpx.AsyncClient, cached_client: httpx.AsyncClient, world: World, query: str
) -> tuple[httpx.Response, httpx.Response]:
    url = f"{TASKS}?{query}" if query else TASKS
    return (
        await client.get(url, headers=world.headers),
        await cached_client.get(url, headers=world.headers),
    )


async def test_every_page_is_the_routes_page(
    client: httpx.AsyncClient,
    cached_client: httpx.AsyncClient,
    seeded: World,
    orm_statements: list[str],
) -> None:
    await cached_client.get(TASKS, headers=seeded.headers)  # the route caches the key
    for query in ANSWERED:
        orm_statements.clear()
        route, fast = await both(client, cached_client, seeded, query)
        assert route.status_code == 200, (query, route.text)
        assert fast.content == route.content, query
        assert fast.headers["content-type"] == route.headers["content-type"]
        if is_postgres():
            assert orm_statements == [], query


async def test_following_cursors_gives_the_routes_pages(
    client: httpx.AsyncClient,
    cached_client: httpx.AsyncClient,
    seeded: World,
    orm_statements: list[str],
) -> None:
    await cached_client.get(TASKS, headers=seeded.headers)
    seen: list[str] = []
    query = "per_page=40&status=COMPLETED"
    while True:
        orm_statements.clear()
        route, fast = await both(client, cached_client, seeded, query)
        assert fast.content == route.content
        assert orm_statements == [] or not is_postgres()
        page = fast.json()
        seen += [task["id"] for task in page["data"]]
        cursor = page["meta"]["nextCursor"]
        if cursor is None:
            break
        query = f"per_page=40&status=COMPLETED&cursor={cursor}"
    assert len(seen) == len(set(seen)) == page["meta"]["total"] > 40


async def test_a_query_the_route_refuses_is_refused_by_the_route(
    client: httpx.AsyncClient, cached_client: httpx.AsyncClient, seeded: World
) -> None:
    await cached_client.get(TASKS, headers=seeded.headers)
    for query in REFUSED:
        route, fast = await both(client, cached_client, seeded, query)
        assert route.status_code == 400, (query, route.text)
        assert comparable(fast) == comparable(route), query
        assert fast.json()["requestId"] == fast.headers["x-request-id"]


async def test_a_tenant_reads_only_its_own_tasks(
    client: httpx.AsyncClient,
    cached_client: httpx.AsyncClient,
    seeded: World,
    other_world: World,
) -> None:
    for world in (seeded, other_world):
        await cached_client.get(TASKS, headers=world.headers)
    mine, theirs = [
        (await cached_client.get(f"{TASKS}?per_page=100", headers=w.headers)).json()
        for w in (seeded, other_world)
    ]
    assert theirs["meta"]["total"] == 1
    assert [t["id"] for t in theirs["data"]] == [str(other_world.task.id)]
    assert mine["meta"]["total"] == 151
    assert str(other_world.task.id) not in {t["id"] for t in mine["data"]}
    # Another tenant's commerce filters to nothing, as if it did not exist.
    route, fast = await both(client, cached_client, other_world, "external_commerce_id=COM-3")
    assert fast.content == route.content
    assert fast.json()["meta"]["total"] == 0


async def test_a_revoked_key_is_refused_within_a_second(
    cached_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    assert (await cached_client.get(TASKS, headers=world.headers)).status_code == 200
    assert (await cached_client.get(TASKS, headers=world.headers)).status_code == 200
    async with session_scope(session_factory) as session:
        [key] = await auth.list_api_keys(session, world.tenant.id)
        await auth.revoke_api_key(session, world.tenant.id, key.id)

    async def refused() -> bool:
        response = await cached_client.get(TASKS, headers=world.headers)
        return response.status_code == 401 and response.json() == UNAUTHORIZED

    await eventually(refused)


@pytest.mark.skipif(not is_postgres(), reason="the fast path reads on PostgreSQL only")
async def test_a_dead_connection_falls_back_to_the_route_and_never_fails_with_a_500(
    cached_app: FastAPI,
    cached_client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    orm_statements: list[str],
) -> None:
    for _ in range(3):  # the key cached, and pooled connections the fast path has used
        assert (await cached_client.get(TASKS, headers=world.headers)).status_code == 200
    expected = (await cached_client.get(TASKS, headers=world.headers)).content
    await terminate_other_connections(session_factory)  # the app's pooled ones included
    statuses = []
    for _ in range(5):
        response = await cached_client.get(TASKS, headers=world.headers)
        statuses.append(response.status_code)
        if response.status_code == 200:
            assert response.content == expected
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[-1] == 200, statuses
    orm_statements.clear()
    assert (await cached_client.get(TASKS, headers=world.headers)).content == expected
    assert orm_statements == []  # answered by the fast path again
