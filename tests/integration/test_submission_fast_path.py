"""The result route's fast path: what it records itself, what it leaves to the route, and that
nothing it does is lost, doubled or half-applied.

``client`` here is served by the fast path (the whole submission suite runs both ways, see the
root conftest). The statements the app's engine sends tell which of the two wrote a result: the
fast path writes on a driver connection (PostgreSQL) or its own writer connection (SQLite).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import FAST_PATH, is_postgres
from tests.factories import World
from tests.integration.support import (
    SUBMIT,
    TASKS,
    get_activity,
    reschedule,
    results_of,
    sent_statements,
    submission_for,
    terminate_other_connections,
)

FEED = "/api/integration/events"
HANG_GUARD = 20.0

pytestmark = pytest.mark.parametrize("served_by", [FAST_PATH], indirect=True)


@pytest.fixture
def written_by_the_route(app: FastAPI) -> Iterator[list[str]]:
    """Results the route inserted (through SQLAlchemy); the fast path's are not seen here."""
    inserts = ("INSERT INTO activity_results", "WITH stored_result")
    with sent_statements(app, lambda statement: statement.startswith(inserts)) as sent:
        yield sent


async def test_a_plain_submission_is_recorded_by_the_fast_path(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    written_by_the_route: list[str],
) -> None:
    posted = await client.post(SUBMIT, headers=world.headers, json=submission_for(world))
    assert posted.status_code == 201, posted.text
    assert posted.headers["content-type"] == "application/json"
    assert written_by_the_route == []
    [stored] = await results_of(session_factory, world.task.id)
    assert posted.json()["id"] == str(stored.id)
    assert (await get_activity(session_factory, world.task.id)).status == "COMPLETED"
    task = (await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)).json()
    assert task["result"] == posted.json()


async def test_a_follow_up_goes_to_the_route_and_is_stored_once(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    written_by_the_route: list[str],
) -> None:
    posted = await client.post(SUBMIT, headers=world.headers, json=reschedule(world.task.id))
    assert posted.status_code == 201, posted.text
    assert posted.json()["followUpActivityId"] is not None
    assert len(written_by_the_route) == 1  # the route wrote it, once
    assert len(await results_of(session_factory, world.task.id)) == 1


async def test_replacing_a_result_with_a_follow_up_cancels_it_through_the_route(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    written_by_the_route: list[str],
) -> None:
    first = await client.post(SUBMIT, headers=world.headers, json=reschedule(world.task.id))
    follow_up = first.json()["followUpActivityId"]
    written_by_the_route.clear()
    body = submission_for(world, "NOT_INTERESTED", status="NOT_EFFECTIVE", hard_override=True)
    second = await client.post(SUBMIT, headers=world.headers, json=body)
    assert second.status_code == 201, second.text
    # The fast path met the follow-up after superseding the result: it rolled back, and the
    # route did the whole submission again.
    assert len(written_by_the_route) == 1
    stored = await results_of(session_factory, world.task.id)
    assert [r.superseded_at is None for r in stored] == [False, True]
    shown = await client.get(f"{TASKS}/{follow_up}", headers=world.headers)
    assert shown.json()["status"] == "CANCELLED"


async def test_an_idempotency_key_goes_to_the_route_and_replays(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    headers = {**world.headers, "Idempotency-Key": "retry-7"}
    first = await client.post(SUBMIT, headers=headers, json=submission_for(world))
    again = await client.post(SUBMIT, headers=headers, json=submission_for(world))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(await results_of(session_factory, world.task.id)) == 1


async def test_a_streamed_body_over_the_limit_is_refused_in_the_contract_body(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    limit = app.state.settings.max_body_bytes

    async def chunks() -> Any:
        for _ in range(limit // 1024 + 2):
            yield b" " * 1024

    refused = await client.post(SUBMIT, headers=world.headers, content=chunks())
    assert refused.status_code == 413
    assert refused.json()["message"] == "Request body too large"
    assert refused.json()["requestId"] == refused.headers["x-request-id"]


async def test_a_waiting_feed_reader_gets_the_fast_paths_events(
    client: httpx.AsyncClient, world: World
) -> None:
    seen = 0
    cursor = None
    while seen < 5:  # the world's own events: four result types and its task
        params: dict[str, Any] = {"wait": 5} | ({"after": cursor} if cursor else {})
        page = (await client.get(FEED, headers=world.headers, params=params)).json()
        seen += len(page["data"])
        cursor = page["meta"]["nextCursor"]
    waiting = asyncio.create_task(
        client.get(FEED, headers=world.headers, params={"after": cursor, "wait": 25})
    )
    await asyncio.sleep(0)  # let the read start (it is answered whether it waited or not)
    posted = await client.post(SUBMIT, headers=world.headers, json=submission_for(world))
    assert posted.status_code == 201
    woken = (await asyncio.wait_for(waiting, HANG_GUARD)).json()
    types = [e["type"] for e in woken["data"]]
    assert types[0] == "result.recorded"
    assert woken["data"][0]["data"] == posted.json()


@pytest.mark.skipif(not is_postgres(), reason="the fast path writes on PostgreSQL only")
async def test_a_dead_connection_never_answers_500_nor_stores_twice(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    for _ in range(2):  # pooled connections the fast path has used
        await client.get(TASKS, headers=world.headers)
    await terminate_other_connections(session_factory)  # the app's pooled ones included
    statuses = []
    for _ in range(4):
        response = await client.post(SUBMIT, headers=world.headers, json=submission_for(world))
        statuses.append(response.status_code)
        if response.status_code == 201:
            break
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[-1] == 201, statuses
    assert len(await results_of(session_factory, world.task.id)) == 1
