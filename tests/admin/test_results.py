from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import ActivityResult
from tests.admin.conftest import Admin
from tests.factories import create_task

RESULTS = "/api/activity-results"
SUBMIT = "/api/integration/activity-results/tasks"


async def _submit(
    client: httpx.AsyncClient, admin: Admin, activity_id: Any, result: str, status: str
) -> str:
    response = await client.post(
        SUBMIT,
        headers=admin.world.headers,
        json={
            "activity_id": str(activity_id),
            "commerce_external_id": "COM-001",
            "occurred_at": "2026-04-11T10:30:00.000Z",
            "status": status,
            "task_result": {"result": result},
        },
    )
    assert response.status_code == 201, response.text
    result_id: str = response.json()["id"]
    return result_id


async def test_list_filters_results(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(session_factory) as session:
        other = await create_task(session, admin.tenant_id)
    replaced = await _submit(client, admin, admin.world.task.id, "NO_CONTACT", "PENDING")
    current = await _submit(client, admin, admin.world.task.id, "SALE_COMPLETED", "EFFECTIVE")
    refused = await _submit(client, admin, other.id, "NOT_INTERESTED", "NOT_EFFECTIVE")
    long_ago = utcnow() - timedelta(days=10)
    async with session_scope(session_factory) as session:
        await session.execute(
            update(ActivityResult)
            .where(ActivityResult.id == uuid.UUID(refused))
            .values(created_at=long_ago)
        )

    async def ids(**params: Any) -> list[str]:
        response = await client.get(RESULTS, headers=admin.headers, params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    listed = await client.get(RESULTS, headers=admin.headers)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["data"]] == [current, refused]
    assert listed.json()["meta"] == {
        "page": 1,
        "limit": 20,
        "total": 2,
        "totalPages": 1,
        "nextCursor": None,
    }
    first = listed.json()["data"][0]
    assert first["activityId"] == str(admin.world.task.id)
    assert first["taskResult"]["result"] == "SALE_COMPLETED"
    assert first["taskResult"]["label"] == "Venta completada"
    assert first["supersededAt"] is None

    assert await ids(include_superseded="true") == [current, replaced, refused]
    assert await ids(status="NOT_EFFECTIVE") == [refused]
    assert await ids(status="PENDING", include_superseded="true") == [replaced]
    assert await ids(code="SALE_COMPLETED") == [current]
    assert await ids(code="RESCHEDULE") == []
    five_days_ago = format_timestamp(utcnow() - timedelta(days=5))
    assert await ids(created_from=five_days_ago) == [current]
    assert await ids(created_to=five_days_ago) == [refused]
    assert await ids(per_page=1, page=2) == [refused]

    for params, field in [
        ({"status": "DONE"}, "status"),
        ({"code": "no spaces"}, "code"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_to": "2026-01-01T00:00:00"}, "created_to"),
        ({"include_superseded": "maybe"}, "include_superseded"),
        ({"per_page": "101"}, "per_page"),
    ]:
        response = await client.get(RESULTS, headers=admin.headers, params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["details"][0]["field"] == field
