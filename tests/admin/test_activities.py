from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities.status import Channel
from taskbridge.db import session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import Activity, ActivityEvent
from tests.admin.conftest import Admin
from tests.error_bodies import error_body
from tests.factories import create_task
from tests.integration.support import TASK_KEYS

ACTIVITIES = "/api/activities"
TASKS = "/api/activities/tasks"
SUBMIT = "/api/integration/activity-results/tasks"
ADMIN_FIELDS = TASK_KEYS | {"internalStatus", "idempotencyKey", "dispatchAttempts"}
SCHEDULED = "2026-05-04T13:00:00.000Z"


def _task_body(**fields: Any) -> dict[str, Any]:
    return {
        "reason": "Reponer exhibidor",
        "channel": "CALLCENTER",
        "commerce_external_id": "COM-001",
        "operator_external_id": "OP-17",
        "scheduled_at": "2026-05-04T10:00:00-03:00",
        "idempotency_key": "crm-4411",
        **fields,
    }


async def _count_activities(factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(factory) as session:
        return int(await session.scalar(select(func.count(Activity.id))) or 0)


async def _submit(
    client: httpx.AsyncClient, admin: Admin, activity_id: Any, result: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        SUBMIT,
        headers=admin.world.headers,
        json={
            "activity_id": str(activity_id),
            "commerce_external_id": "COM-001",
            "occurred_at": "2026-04-11T10:30:00.000Z",
            "status": "EFFECTIVE",
            "task_result": {"result": result},
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _admin_key_id(client: httpx.AsyncClient, admin: Admin) -> str:
    me = await client.get("/api/integration/me", headers=admin.headers)
    key_id: str = me.json()["apiKey"]["id"]
    return key_id


async def test_create_task_returns_the_admin_shape(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        TASKS, headers=admin.headers, json=_task_body(provider_activity_id="prov-9")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == ADMIN_FIELDS
    assert body["internalStatus"] == "READY"
    assert body["status"] == "PENDING"
    assert body["lifecycleStatus"] == "SCHEDULED"
    assert body["lifecycleStatusLabel"] == "Programada"
    assert body["channel"] == "CALLCENTER"
    assert body["scheduledAt"] == SCHEDULED
    assert body["commerceExternalId"] == "COM-001"
    assert body["commerceName"] == "Almacén Don Pedro"
    assert body["operatorExternalId"] == "OP-17"
    assert body["providerActivityId"] == "prov-9"
    assert body["idempotencyKey"] == "crm-4411"
    assert body["dispatchAttempts"] == 0
    assert body["activityOrigin"] == "ACTIVITY"
    assert body["result"] is None
    async with session_scope(session_factory) as session:
        events = (
            await session.scalars(
                select(ActivityEvent).where(ActivityEvent.activity_id == uuid.UUID(body["id"]))
            )
        ).all()
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        (None, "READY", f"api_key:{await _admin_key_id(client, admin)}")
    ]


async def test_repeated_idempotency_key_is_a_conflict_naming_the_existing_activity(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await client.post(TASKS, headers=admin.headers, json=_task_body())
    assert first.status_code == 201, first.text
    existing = first.json()["id"]
    before = await _count_activities(session_factory)
    again = await client.post(TASKS, headers=admin.headers, json=_task_body(reason="otra"))
    assert again.status_code == 409
    assert again.json() == error_body(
        409,
        f"An activity with idempotency_key 'crm-4411' already exists: {existing}",
        existingActivityId=existing,
    )
    assert await _count_activities(session_factory) == before


async def test_create_task_refusals(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    before = await _count_activities(session_factory)
    invalid: list[tuple[dict[str, Any], str]] = [
        (_task_body(scheduled_at="2026-05-04T10:00:00"), "scheduled_at"),
        (_task_body(scheduled_at="2026-05-04"), "scheduled_at"),
        (_task_body(channel="FAX"), "channel"),
        (_task_body(idempotency_key=" "), "idempotency_key"),
        (_task_body(priority=1), "priority"),
    ]
    for body, field in invalid:
        response = await client.post(TASKS, headers=admin.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["details"][0]["field"] == field
        assert response.json()["message"].startswith(f"{field}: ")
    missing = await client.post(TASKS, headers=admin.headers, json={"reason": "x"})
    assert missing.status_code == 400
    assert {d["field"] for d in missing.json()["details"]} == {
        "channel",
        "commerce_external_id",
        "scheduled_at",
        "idempotency_key",
    }

    no_commerce = await client.post(
        TASKS, headers=admin.headers, json=_task_body(commerce_external_id="COM-404")
    )
    assert no_commerce.status_code == 404
    assert no_commerce.json() == error_body(404, "Commerce 'COM-404' not found")
    no_operator = await client.post(
        TASKS, headers=admin.headers, json=_task_body(operator_external_id="OP-404")
    )
    assert no_operator.status_code == 404
    assert no_operator.json() == error_body(404, "Operator 'OP-404' not found")
    assert await _count_activities(session_factory) == before


async def test_list_shows_internal_statuses_and_filters(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with session_scope(session_factory) as session:
        await create_task(
            session, admin.tenant_id, scheduled_at=now + timedelta(days=5), channel=Channel.EMAIL
        )
        failed = await create_task(session, admin.tenant_id, scheduled_at=now + timedelta(days=3))
        await session.execute(
            update(Activity).where(Activity.id == failed.id).values(status="FAILED")
        )
    seed_task = admin.world.task.id

    listed = await client.get(ACTIVITIES, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    assert [a["internalStatus"] for a in listed.json()["data"]] == ["READY", "FAILED", "READY"]
    assert set(listed.json()["data"][0]) == ADMIN_FIELDS
    assert listed.json()["meta"] == {
        "page": 1,
        "limit": 20,
        "total": 3,
        "totalPages": 1,
        "nextCursor": None,
    }

    async def ids(**params: Any) -> list[str]:
        response = await client.get(ACTIVITIES, headers=admin.headers, params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["data"]]

    assert await ids(status="FAILED") == [str(failed.id)]
    assert len(await ids(status="READY")) == 2
    assert await ids(status="COMPLETED") == []
    assert len(await ids(channel="EMAIL")) == 1
    assert len(await ids(external_commerce_id="COM-001")) == 3
    assert await ids(external_commerce_id="COM-404") == []
    assert len(await ids(external_operator_id="OP-17")) == 3
    assert await ids(
        scheduled_from=format_timestamp(now + timedelta(days=2)),
        scheduled_to=format_timestamp(now + timedelta(days=4)),
    ) == [str(failed.id)]
    assert len(await ids(updated_since=format_timestamp(now - timedelta(minutes=5)))) == 3
    assert await ids(updated_since=format_timestamp(now + timedelta(minutes=5))) == []
    assert await ids(per_page=1, page=3) == [str(seed_task)]

    for params, field in [
        ({"status": "PENDING"}, "status"),
        ({"channel": "FAX"}, "channel"),
        ({"scheduled_from": "2026-01-01"}, "scheduled_from"),
        ({"updated_since": "2026-01-01T00:00:00"}, "updated_since"),
        ({"per_page": "101"}, "per_page"),
    ]:
        refused = await client.get(ACTIVITIES, headers=admin.headers, params=params)
        assert refused.status_code == 400, (params, refused.text)
        assert refused.json()["details"][0]["field"] == field


async def test_detail_has_result_history_and_events(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    task_id = admin.world.task.id
    first = await _submit(client, admin, task_id, "NO_CONTACT", status="PENDING")
    second = await _submit(client, admin, task_id, "SALE_COMPLETED")

    response = await client.get(f"{ACTIVITIES}/{task_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ADMIN_FIELDS | {"results", "events"}
    assert body["internalStatus"] == "COMPLETED"
    assert body["result"]["id"] == second["id"]
    assert [r["id"] for r in body["results"]] == [second["id"], first["id"]]
    assert body["results"][0]["supersededAt"] is None
    assert body["results"][1]["supersededAt"] is not None
    assert body["results"][1]["taskResult"]["result"] == "NO_CONTACT"
    assert [(e["fromStatus"], e["toStatus"]) for e in body["events"]] == [
        (None, "READY"),
        ("READY", "COMPLETED"),
    ]
    assert set(body["events"][0]) == {
        "id",
        "fromStatus",
        "toStatus",
        "reason",
        "actor",
        "createdAt",
    }

    missing = uuid.uuid4()
    unknown = await client.get(f"{ACTIVITIES}/{missing}", headers=admin.headers)
    assert unknown.status_code == 404
    assert unknown.json() == error_body(404, f"Task '{missing}' not found")


async def test_cancel_records_the_event(client: httpx.AsyncClient, admin: Admin) -> None:
    task_id = admin.world.task.id
    response = await client.post(
        f"{ACTIVITIES}/{task_id}/cancel", headers=admin.headers, json={"reason": "Local cerrado"}
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == ADMIN_FIELDS
    assert response.json()["internalStatus"] == "CANCELED"
    assert response.json()["status"] == "CANCELLED"

    detail = (await client.get(f"{ACTIVITIES}/{task_id}", headers=admin.headers)).json()
    last = detail["events"][-1]
    assert (last["fromStatus"], last["toStatus"], last["reason"]) == (
        "READY",
        "CANCELED",
        "Local cerrado",
    )
    assert last["actor"] == f"api_key:{await _admin_key_id(client, admin)}"


async def test_cancel_refusals(client: httpx.AsyncClient, admin: Admin) -> None:
    task_id = admin.world.task.id
    for body, field in [({}, "reason"), ({"reason": "  "}, "reason"), ({"why": "x"}, "reason")]:
        refused = await client.post(
            f"{ACTIVITIES}/{task_id}/cancel", headers=admin.headers, json=body
        )
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["details"][0]["field"] == field

    missing = uuid.uuid4()
    unknown = await client.post(
        f"{ACTIVITIES}/{missing}/cancel", headers=admin.headers, json={"reason": "x"}
    )
    assert unknown.status_code == 404
    assert unknown.json() == error_body(404, f"Activity '{missing}' not found")

    await _submit(client, admin, task_id, "SALE_COMPLETED")
    completed = await client.post(
        f"{ACTIVITIES}/{task_id}/cancel", headers=admin.headers, json={"reason": "tarde"}
    )
    assert completed.status_code == 409
    assert completed.json() == error_body(
        409, f"Activity '{task_id}' cannot move from COMPLETED to CANCELED"
    )
    detail = (await client.get(f"{ACTIVITIES}/{task_id}", headers=admin.headers)).json()
    assert detail["internalStatus"] == "COMPLETED"
    assert [e["toStatus"] for e in detail["events"]] == ["READY", "COMPLETED"]
