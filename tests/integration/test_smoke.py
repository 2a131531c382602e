from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.kit.time import format_timestamp, utcnow
from tests.factories import build_world


async def test_configs_tasks_and_submit(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    configs = await client.get("/api/integration/task-result-type-configs", headers=world.headers)
    assert configs.status_code == 200, configs.text
    assert [c["code"] for c in configs.json()] == [
        "SALE_COMPLETED",
        "NOT_INTERESTED",
        "RESCHEDULE",
        "NO_CONTACT",
    ]
    tasks = await client.get("/api/integration/activities/tasks", headers=world.headers)
    assert tasks.status_code == 200, tasks.text
    assert tasks.json()["meta"]["total"] == 1
    body = {
        "activity_id": str(world.task.id),
        "commerce_external_id": "COM-001",
        "occurred_at": format_timestamp(utcnow()),
        "status": "EFFECTIVE",
        "task_result": {
            "result": "RESCHEDULE",
            "future_scheduled_at": format_timestamp(utcnow() + timedelta(days=3)),
        },
    }
    submitted = await client.post(
        "/api/integration/activity-results/tasks", headers=world.headers, json=body
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["followUpActivityId"]
    label = {**body, "task_result": {"result": "Venta completada"}}
    refused = await client.post(
        "/api/integration/activity-results/tasks", headers=world.headers, json=label
    )
    assert refused.status_code == 400
    print(refused.json())
