"""A result submission and a CSV import build their task events from the values they wrote,
not by reading the tasks back: each document must stay the one the integration API shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.imports import service as imports
from taskbridge.imports.schemas import ImportKind
from taskbridge.kit.time import utcnow
from tests.cli.test_imports import TASK_HEADER
from tests.events.test_feed import SEED_EVENTS, read_all, types_of
from tests.factories import build_world

RESULTS = "/api/integration/activity-results/tasks"
TASKS = "/api/integration/activities/tasks"


async def shown(client: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> Any:
    answer = await client.get(f"{TASKS}/{task_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_follow_up_and_completion_documents_are_the_tasks_as_shown(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # Not the default language: the locale comes from the key's tenant, not from a read.
    world = await build_world(session_factory, slug="globex", locale="en")
    headers = world.headers
    start = (await read_all(client, headers, len(SEED_EVENTS)))["meta"]["nextCursor"]
    body: Any = {
        "activity_id": str(world.task.id),
        "commerce_external_id": "COM-001",
        "occurred_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        "status": "PENDING",
        "task_result": {
            "result": "RESCHEDULE",
            "future_scheduled_at": (utcnow() + timedelta(days=2)).isoformat(),
        },
    }
    posted = await client.post(RESULTS, headers=headers, json=body)
    assert posted.status_code == 201, posted.text
    follow_up_id = posted.json()["followUpActivityId"]
    page = await read_all(client, headers, 2, after=start)
    assert types_of(page) == ["follow_up.created", "result.recorded"]
    follow_up = await shown(client, headers, follow_up_id)
    assert page["data"][0]["data"] == follow_up
    assert follow_up["operatorName"] == "Ana Rojas"
    assert follow_up["parentActivityId"] == str(world.task.id)

    final = {
        "activity_id": follow_up_id,
        "commerce_external_id": "COM-001",
        "occurred_at": utcnow().isoformat(),
        "status": "EFFECTIVE",
        "task_result": {"result": "SALE_COMPLETED", "comment": "ok"},
    }
    completed = await client.post(RESULTS, headers=headers, json=final)
    assert completed.status_code == 201, completed.text
    after = await read_all(client, headers, 2, after=page["meta"]["nextCursor"])
    assert types_of(after) == ["result.recorded", "task.completed"]
    task = await shown(client, headers, follow_up_id)
    assert after["data"][1]["data"] == task
    assert task["status"] == "COMPLETED"


async def test_imported_tasks_are_created_events_carrying_the_tasks_as_shown(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    start = (await read_all(client, world.headers, len(SEED_EVENTS)))["meta"]["nextCursor"]
    rows = (
        "imp-1,COM-001,SALESMAN,2030-04-15T09:00:00+02:00,Visita,OP-17,PRV-imp-1\n"
        "imp-2,COM-001,CALLCENTER,2030-04-16T09:00:00Z,Llamada,,\n"
    )
    async with session_scope(session_factory) as session:
        await imports.import_csv(
            session, world.tenant.id, ImportKind.TASKS, TASK_HEADER + rows, actor="test"
        )
    page = await read_all(client, world.headers, 2, after=start)
    assert types_of(page) == ["task.created", "task.created"]
    for event in page["data"]:
        assert event["data"] == await shown(client, world.headers, event["subjectId"])
    assert [e["data"]["operatorName"] for e in page["data"]] == ["Ana Rojas", None]
