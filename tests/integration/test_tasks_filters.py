"""GET /api/integration/activities/tasks: every filter and every parameter rule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities.status import Channel
from taskbridge.kit.time import utcnow
from tests.factories import World
from tests.integration.support import (
    SUBMIT,
    TASKS,
    add_commerce_and_operator,
    add_tasks,
    reschedule,
    stamp,
    submission,
)

BASE = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


async def ids(client: httpx.AsyncClient, world: World, **params: str) -> list[str]:
    response = await client.get(TASKS, params=params, headers=world.headers)
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["data"]]


async def test_result_status_filter(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    effective, not_effective, pending, untouched = await add_tasks(
        session_factory, world.tenant.id, [BASE + timedelta(hours=h) for h in range(4)]
    )
    for task, status in ((effective, "EFFECTIVE"), (not_effective, "NOT_EFFECTIVE")):
        response = await client.post(
            SUBMIT, headers=world.headers, json=submission(task.id, status=status)
        )
        assert response.status_code == 201
    response = await client.post(
        SUBMIT, headers=world.headers, json=submission(pending.id, "NO_CONTACT", status="PENDING")
    )
    assert response.status_code == 201
    assert await ids(client, world, result_status="EFFECTIVE") == [str(effective.id)]
    assert await ids(client, world, result_status="NOT_EFFECTIVE") == [str(not_effective.id)]
    assert await ids(client, world, result_status="PENDING") == [str(pending.id)]
    assert str(untouched.id) in await ids(client, world)


async def test_result_status_filter_reads_the_current_result_only(
    client: httpx.AsyncClient, world: World
) -> None:
    first = submission(world.task.id, "NO_CONTACT", status="PENDING")
    assert (await client.post(SUBMIT, headers=world.headers, json=first)).status_code == 201
    assert (
        await client.post(SUBMIT, headers=world.headers, json=submission(world.task.id))
    ).status_code == 201
    assert await ids(client, world, result_status="PENDING") == []
    assert await ids(client, world, result_status="EFFECTIVE") == [str(world.task.id)]


async def test_channel_filter(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    [whatsapp] = await add_tasks(session_factory, world.tenant.id, [BASE], channel=Channel.WHATSAPP)
    assert await ids(client, world, channel="WHATSAPP") == [str(whatsapp.id)]
    assert await ids(client, world, channel="SALESMAN") == [str(world.task.id)]
    assert await ids(client, world, channel="EMAIL") == []


async def test_commerce_and_operator_filters(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await add_commerce_and_operator(session_factory, world.tenant.id, "002")
    [other_commerce] = await add_tasks(
        session_factory, world.tenant.id, [BASE], commerce="COM-002", operator=None
    )
    [other_operator] = await add_tasks(
        session_factory, world.tenant.id, [BASE + timedelta(hours=1)], operator="OP-002"
    )
    assert await ids(client, world, external_commerce_id="COM-002") == [str(other_commerce.id)]
    assert await ids(client, world, external_commerce_id="COM-001") == [
        str(world.task.id),
        str(other_operator.id),
    ]
    assert await ids(client, world, external_operator_id="OP-002") == [str(other_operator.id)]
    assert await ids(client, world, external_operator_id="OP-17") == [str(world.task.id)]
    assert await ids(client, world, external_operator_id="OP-404") == []
    assert await ids(client, world, external_commerce_id="COM-002", channel="SALESMAN") == [
        str(other_commerce.id)
    ]


async def test_filters_never_reach_another_tenant(
    client: httpx.AsyncClient, world: World, other_world: World
) -> None:
    assert await ids(client, world, external_commerce_id="COM-001") == [str(world.task.id)]
    assert await ids(client, other_world, external_commerce_id="COM-001") == [
        str(other_world.task.id)
    ]


async def test_scheduled_bounds_are_inclusive(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    tasks = await add_tasks(
        session_factory, world.tenant.id, [BASE + timedelta(hours=h) for h in range(5)]
    )
    newest_first = [str(t.id) for t in reversed(tasks)]
    window = {
        "scheduled_from": stamp(tasks[1].scheduled_at),
        "scheduled_to": stamp(BASE + timedelta(hours=3)),
    }
    assert await ids(client, world, **window) == newest_first[1:4]
    assert await ids(
        client,
        world,
        scheduled_from="2026-05-01T12:00:00+03:00",
        scheduled_to="2026-05-01T09:00:00Z",
    ) == [str(tasks[0].id)]
    assert await ids(client, world, scheduled_to=stamp(BASE - timedelta(milliseconds=1))) == []


async def test_updated_since_picks_up_changes_after_a_result(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    [untouched] = await add_tasks(session_factory, world.tenant.id, [BASE])
    await asyncio.sleep(0.01)
    mark = utcnow().isoformat()
    assert await ids(client, world, updated_since=mark) == []
    response = await client.post(SUBMIT, headers=world.headers, json=reschedule(world.task.id))
    assert response.status_code == 201
    follow_up = response.json()["followUpActivityId"]
    changed = await ids(client, world, updated_since=mark)
    assert set(changed) == {str(world.task.id), follow_up}
    assert str(untouched.id) not in changed
    updated_at = (await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)).json()[
        "updatedAt"
    ]
    assert str(world.task.id) in await ids(client, world, updated_since=updated_at)


async def test_pending_result_also_counts_as_a_change(
    client: httpx.AsyncClient, world: World
) -> None:
    await asyncio.sleep(0.01)
    mark = utcnow().isoformat()
    body = submission(world.task.id, "NO_CONTACT", status="PENDING")
    assert (await client.post(SUBMIT, headers=world.headers, json=body)).status_code == 201
    assert await ids(client, world, updated_since=mark) == [str(world.task.id)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"status": "DONE"}, "status"),
        ({"status": "pending"}, "status"),
        ({"status": "CANCELED"}, "status"),
        ({"result_status": "SUCCESS"}, "result_status"),
        ({"channel": "FAX"}, "channel"),
        ({"scheduled_from": "yesterday"}, "scheduled_from"),
        ({"scheduled_from": "2026-05-01"}, "scheduled_from"),
        ({"scheduled_to": "2026-05-01T09:00:00"}, "scheduled_to"),
        ({"updated_since": "2026-13-01T00:00:00Z"}, "updated_since"),
        ({"updated_since": "2026-05-01T09:00:00"}, "updated_since"),
        ({"external_commerce_id": "COM\u0000"}, "external_commerce_id"),
        ({"external_operator_id": "\u0000"}, "external_operator_id"),
    ],
)
async def test_invalid_parameter_is_400_naming_it(
    client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
) -> None:
    response = await client.get(TASKS, params=params, headers=world.headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"statusCode", "error", "message", "details", "requestId"}
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert body["message"].startswith(f"{field}: ")
    assert body["details"] == [{"field": field, "message": body["message"]}]


async def test_per_page_messages_name_the_bounds(client: httpx.AsyncClient, world: World) -> None:
    low = await client.get(TASKS, params={"per_page": 0}, headers=world.headers)
    high = await client.get(TASKS, params={"per_page": 101}, headers=world.headers)
    assert low.json()["message"] == "per_page: must be at least 1"
    assert high.json()["message"] == "per_page: must be at most 100"


async def test_offset_less_date_message_explains_the_rule(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(
        TASKS, params={"scheduled_from": "2026-05-01T09:00:00"}, headers=world.headers
    )
    assert response.json()["message"] == (
        "scheduled_from: must be an ISO 8601 timestamp with a time zone (Z or +hh:mm)"
    )


async def test_enum_message_lists_the_values(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(TASKS, params={"status": "DONE"}, headers=world.headers)
    assert response.json()["message"] == (
        "status: must be one of PENDING, IN_PROGRESS, COMPLETED or CANCELLED"
    )


async def test_per_page_bounds_are_accepted(client: httpx.AsyncClient, world: World) -> None:
    for per_page in (1, 100):
        response = await client.get(TASKS, params={"per_page": per_page}, headers=world.headers)
        assert response.status_code == 200
        assert response.json()["meta"]["limit"] == per_page
