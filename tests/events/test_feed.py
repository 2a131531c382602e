"""The event feed over HTTP: what each change writes, the payloads, strict parameters, tenant
walls, the 410 of an expired cursor, long polling, retention."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge import retention
from taskbridge.activities import service as activities
from taskbridge.app import create_app
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.events import service as events
from taskbridge.events.schemas import EventQuery
from taskbridge.events.service import Position
from taskbridge.kit.time import utcnow
from taskbridge.models import Event
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate, ResultTypeUpdate
from tests.factories import World, build_world, create_key, create_task

FEED = "/api/integration/events"
SEED_EVENTS = ["result_type.created"] * 4 + ["task.created"]
HANG_GUARD = 20.0
MONTH = timedelta(days=30)


async def read_all(
    client: httpx.AsyncClient, headers: dict[str, str], expect: int, **params: Any
) -> Any:
    """The next ``expect`` events, as a client reads them: long polls following the cursor (on
    PostgreSQL a transaction still open anywhere in the cluster holds committed events back)."""
    events: list[Any] = []
    deadline = asyncio.get_running_loop().time() + HANG_GUARD
    while True:
        answer = await client.get(FEED, headers=headers, params={"wait": 5, **params})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        events += page["data"]
        params["after"] = page["meta"]["nextCursor"]
        if len(events) >= expect:
            assert len(events) == expect, [e["type"] for e in events]
            return {"data": events, "meta": page["meta"]}
        assert asyncio.get_running_loop().time() < deadline, [e["type"] for e in events]


def types_of(page: Any) -> list[str]:
    return [event["type"] for event in page["data"]]


def result_body(world: World, status: str = "EFFECTIVE", code: str = "SALE_COMPLETED") -> Any:
    return {
        "activity_id": str(world.task.id),
        "commerce_external_id": "COM-001",
        "occurred_at": utcnow().isoformat(),
        "status": status,
        "task_result": {"result": code},
    }


async def test_a_task_and_its_result_are_events_carrying_the_api_documents(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    first = await read_all(client, world.headers, 5)
    assert types_of(first) == SEED_EVENTS
    task_event = first["data"][-1]
    shown = await client.get(
        f"/api/integration/activities/tasks/{world.task.id}", headers=world.headers
    )
    assert task_event["data"] == shown.json()
    assert task_event["subjectId"] == str(world.task.id)
    assert task_event["replaced"] is None
    assert first["meta"]["nextCursor"] == task_event["id"]

    posted = await client.post(
        "/api/integration/activity-results/tasks", headers=world.headers, json=result_body(world)
    )
    assert posted.status_code == 201, posted.text
    after = await read_all(client, world.headers, 2, after=first["meta"]["nextCursor"])
    assert types_of(after) == ["result.recorded", "task.completed"]
    recorded, completed = after["data"]
    assert recorded["data"] == posted.json()
    assert recorded["replaced"] is False
    shown = await client.get(
        f"/api/integration/activities/tasks/{world.task.id}", headers=world.headers
    )
    assert completed["data"] == shown.json()
    assert completed["data"]["result"] == posted.json()

    replaced = {**result_body(world, code="NOT_INTERESTED"), "hard_override": True}
    again = await client.post(
        "/api/integration/activity-results/tasks", headers=world.headers, json=replaced
    )
    assert again.status_code == 201, again.text
    last = await read_all(client, world.headers, 1, after=after["meta"]["nextCursor"])
    assert types_of(last) == ["result.recorded"]
    assert last["data"][0]["replaced"] is True
    assert last["data"][0]["data"] == again.json()


async def test_follow_ups_cancellations_and_result_types_are_events(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    start = (await read_all(client, world.headers, 5))["meta"]["nextCursor"]
    future = (utcnow() + timedelta(days=2)).isoformat()
    body = result_body(world, status="PENDING", code="RESCHEDULE")
    body["task_result"]["future_scheduled_at"] = future
    posted = await client.post(
        "/api/integration/activity-results/tasks", headers=world.headers, json=body
    )
    assert posted.status_code == 201, posted.text
    page = await read_all(client, world.headers, 2, after=start)
    assert types_of(page) == ["follow_up.created", "result.recorded"]
    follow_up_id = posted.json()["followUpActivityId"]
    assert page["data"][0]["subjectId"] == follow_up_id
    assert page["data"][0]["data"]["activityOrigin"] == "FOLLOW_UP"

    async with session_scope(session_factory) as session:
        await activities.cancel(
            session, world.tenant.id, uuid.UUID(follow_up_id), reason="no", actor="test"
        )
        created = await result_types.create(
            session, world.tenant.id, ResultTypeCreate(code="CALL_BACK", label="Volver a llamar")
        )
        await result_types.update(
            session, world.tenant.id, created.id, ResultTypeUpdate(label="Llamar de nuevo")
        )
        await result_types.set_active(session, world.tenant.id, created.id, is_active=False)
        await result_types.set_active(session, world.tenant.id, created.id, is_active=True)
        await result_types.delete(session, world.tenant.id, created.id)
    page = await read_all(client, world.headers, 6, after=page["meta"]["nextCursor"])
    assert types_of(page) == [
        "task.canceled",
        "result_type.created",
        "result_type.updated",
        "result_type.archived",
        "result_type.restored",
        "result_type.deleted",
    ]
    assert page["data"][0]["data"]["status"] == "CANCELLED"
    assert page["data"][2]["data"]["label"] == "Llamar de nuevo"
    assert page["data"][3]["data"]["isActive"] is False


async def test_types_and_limit_select_and_page_the_events(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    only = await read_all(client, world.headers, 1, types="task.created")
    assert types_of(only) == ["task.created"]
    seen: list[str] = []
    cursor = None
    while len(seen) < len(SEED_EVENTS):
        params: dict[str, Any] = {"limit": 2, "wait": 5}
        if cursor is not None:
            params["after"] = cursor
        page = (await client.get(FEED, headers=world.headers, params=params)).json()
        assert 1 <= len(page["data"]) <= 2, page
        assert page["meta"]["limit"] == 2
        seen += types_of(page)
        cursor = page["meta"]["nextCursor"]
    assert seen == SEED_EVENTS


async def test_bad_parameters_are_refused_naming_the_field(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    refusals = {
        "since": {"since": "1"},
        "types": {"types": "task.created,task.exploded"},
        "limit": {"limit": "0"},
        "wait": {"wait": "31"},
        "after": {"after": "not-a-cursor"},
    }
    for field, params in refusals.items():
        answer = await client.get(FEED, headers=world.headers, params=params)
        assert answer.status_code == 400, (field, answer.text)
        body = answer.json()
        assert body["statusCode"] == 400
        assert field in body["message"], body
    assert (
        await client.get(FEED, params={"limit": "101"}, headers=world.headers)
    ).status_code == 400
    assert (await client.get(FEED)).status_code == 401
    async with session_scope(session_factory) as session:
        writer = await create_key(session, world.tenant.id, Permission.SUBMIT_ACTIVITY_RESULT)
    assert (await client.get(FEED, headers={"x-api-key": writer})).status_code == 403


async def test_tenants_are_walls(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    acme = await build_world(session_factory, "acme")
    other = await build_world(session_factory, "other")
    acme_page = await read_all(client, acme.headers, 5)
    other_page = await read_all(client, other.headers, 5)
    assert {e["subjectId"] for e in acme_page["data"]}.isdisjoint(
        {e["subjectId"] for e in other_page["data"]}
    )
    # Acme's cursor in other's hands: other's own events after that point, nothing of acme's.
    async with session_scope(session_factory) as session:
        task = await create_task(session, acme.tenant.id)
    seen = await read_all(client, other.headers, 5, after=acme_page["data"][0]["id"])
    assert str(task.id) not in {e["subjectId"] for e in seen["data"]}
    assert all(e["subjectId"] in {x["subjectId"] for x in other_page["data"]} for e in seen["data"])


async def test_a_cursor_older_than_retention_is_gone(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    stale = Position(txid=0, id=1, at=utcnow() - timedelta(days=31)).encode()
    answer = await client.get(FEED, headers=world.headers, params={"after": stale})
    assert answer.status_code == 410
    assert "resynchronise from the task list" in answer.json()["message"]
    fresh = Position(txid=0, id=1, at=utcnow() - timedelta(days=29)).encode()
    assert (
        await client.get(FEED, headers=world.headers, params={"after": fresh})
    ).status_code == 200


async def test_events_past_retention_are_purged(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await build_world(session_factory)
    later = utcnow() + timedelta(days=30, hours=2)
    purged = await retention.service.purge(
        session_factory, delivery_retention=timedelta(days=30), now=later, batch_size=2
    )
    assert purged.events == len(SEED_EVENTS)
    async with session_scope(session_factory) as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0


async def test_an_empty_read_waits_for_the_next_event(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    cursor = (await read_all(client, world.headers, 5))["meta"]["nextCursor"]
    waiting = asyncio.create_task(read_all(client, world.headers, 1, after=cursor, wait=25))
    async with session_scope(session_factory) as session:
        task = await create_task(session, world.tenant.id)
    page = await asyncio.wait_for(waiting, HANG_GUARD)
    assert types_of(page) == ["task.created"]
    assert page["data"][0]["subjectId"] == str(task.id)
    params = {"after": page["meta"]["nextCursor"], "wait": 1}
    empty = await client.get(FEED, headers=world.headers, params=params)
    assert empty.json() == {"data": [], "meta": {"limit": 100, "nextCursor": params["after"]}}


async def test_a_key_with_every_permission_reads_the_feed(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    async with session_scope(session_factory) as session:
        key = await create_key(session, world.tenant.id, *TENANT_KEY_PERMISSIONS, name="admin")
    assert types_of(await read_all(client, {"x-api-key": key}, 5)) == SEED_EVENTS


async def test_a_reorder_is_an_update_of_each_result_type_it_moved(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    start = (await read_all(client, world.headers, 5))["meta"]["nextCursor"]
    codes = ["NOT_INTERESTED", "SALE_COMPLETED", "RESCHEDULE", "NO_CONTACT"]
    async with session_scope(session_factory) as session:
        await result_types.reorder(session, world.tenant.id, codes)
    page = await read_all(client, world.headers, 2, after=start)
    assert types_of(page) == ["result_type.updated"] * 2
    moved = {e["data"]["code"]: e["data"]["position"] for e in page["data"]}
    assert moved == {"NOT_INTERESTED": 0, "SALE_COMPLETED": 1}


async def test_an_open_writer_neither_blocks_the_feed_nor_shows_in_it(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    # Two pooled connections, as a running server has: a new SQLite connection's set-up
    # (``db._configure_sqlite``) would itself wait for the writer.
    async with app.state.engine.connect(), app.state.engine.connect():
        pass
    # The feed's own read, without the key lookup (every route's, in a transaction of its own).
    read = events.follow(
        session_factory, app.state.event_signal, world.tenant.id, EventQuery(), retention=MONTH
    )
    async with session_scope(session_factory) as session:
        await create_task(session, world.tenant.id)  # holds SQLite's write lock until commit
        page = await asyncio.wait_for(read, HANG_GUARD)
        assert [event["type"] for event in page.events] == SEED_EVENTS
    after = await read_all(client, world.headers, 1, after=page.next_cursor)
    assert types_of(after) == ["task.created"]


async def test_the_operators_cap_on_wait_answers_sooner(settings: Settings) -> None:
    capped = create_app(settings.model_copy(update={"event_max_wait_seconds": 0}))
    try:
        world = await build_world(capped.state.session_factory)
        transport = httpx.ASGITransport(app=capped)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            cursor = (await read_all(http, world.headers, 5))["meta"]["nextCursor"]
            params = {"after": cursor, "wait": 30}
            held = http.get(FEED, headers=world.headers, params=params)
            answer = await asyncio.wait_for(held, timeout=10)  # 30 s if the cap were ignored
        assert answer.json()["data"] == []
    finally:
        await capped.state.engine.dispose()
