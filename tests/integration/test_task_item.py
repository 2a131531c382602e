"""A task as the integration API shows it: exact keys, status views, lookup by id."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities.schemas import TaskPage, TaskRead
from taskbridge.activities.status import Channel
from taskbridge.results.schemas import ResultRead, TaskResultOut
from tests.factories import World, build_world
from tests.integration.support import (
    SUBMIT,
    TASK_KEYS,
    TASKS,
    TIMESTAMP,
    add_tasks,
    error,
    set_status,
    stamp,
    submission_for,
)


def expected_item(world: World) -> dict[str, Any]:
    task = world.task
    return {
        "id": str(task.id),
        "activityOrigin": "ACTIVITY",
        "type": "TASK",
        "status": "PENDING",
        "channel": "SALESMAN",
        "scheduledAt": stamp(task.scheduled_at),
        "occurredAt": None,
        "createdAt": stamp(task.created_at),
        "updatedAt": stamp(task.updated_at),
        "lifecycleStatus": "SCHEDULED",
        "lifecycleStatusLabel": "Programada",
        "lifecycleStatusDetail": None,
        "canForceRetryDispatch": False,
        "commerceExternalId": "COM-001",
        "commerceName": "Almacén Don Pedro",
        "operatorExternalId": "OP-17",
        "operatorName": "Ana Rojas",
        "providerActivityId": None,
        "reason": "Visita mensual",
        "parentActivityId": None,
        "result": None,
    }


async def test_list_item_has_exactly_the_contract_keys(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get(TASKS, headers=world.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1, "nextCursor": None}
    [item] = body["data"]
    assert set(item) == TASK_KEYS
    assert item == expected_item(world)
    for key in ("scheduledAt", "createdAt", "updatedAt"):
        assert TIMESTAMP.match(item[key]), item[key]


async def test_task_by_id_is_the_list_item(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)
    assert response.status_code == 200
    assert response.json() == expected_item(world)


async def test_task_without_operator_and_with_provider_id(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    [task] = await add_tasks(
        session_factory,
        world.tenant.id,
        [world.task.scheduled_at],
        operator=None,
        provider_activity_id="PRV-9",
        channel=Channel.CALLCENTER,
    )
    item = (await client.get(f"{TASKS}/{task.id}", headers=world.headers)).json()
    assert item["operatorExternalId"] is None
    assert item["operatorName"] is None
    assert item["providerActivityId"] == "PRV-9"
    assert item["channel"] == "CALLCENTER"


async def test_task_shows_its_current_result_in_the_submit_shape(
    client: httpx.AsyncClient, world: World
) -> None:
    submitted = await client.post(SUBMIT, headers=world.headers, json=submission_for(world))
    item = (await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)).json()
    assert item["result"] == submitted.json()
    assert item["status"] == "COMPLETED"
    assert item["occurredAt"] == "2026-04-11T10:30:00.000Z"
    listed = (await client.get(TASKS, headers=world.headers)).json()["data"][0]
    assert listed == item


def documented_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


async def test_item_is_the_documented_model_in_field_order(
    client: httpx.AsyncClient, world: World
) -> None:
    """The item is rendered without the model: it must still be exactly what TaskRead documents."""
    body = submission_for(world)
    body["raw_payload"] = {"big": 2**70, "float": 1e16, "text": "ñ\u2028\u0001"}
    body["task_result"]["payload"] = {"n": [0.1, None, True]}
    assert (await client.post(SUBMIT, headers=world.headers, json=body)).status_code == 201
    response = await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)
    item = response.json()
    assert list(item) == documented_keys(TaskRead)
    assert list(item["result"]) == documented_keys(ResultRead)
    assert list(item["result"]["taskResult"]) == documented_keys(TaskResultOut)
    assert response.content == TaskRead.model_validate(item).model_dump_json(by_alias=True).encode()
    page = await client.get(TASKS, headers=world.headers)
    rendered = TaskPage.model_validate(page.json()).model_dump_json(by_alias=True)
    assert page.content == rendered.encode()


async def test_another_tenants_task_is_404_like_a_missing_one(
    client: httpx.AsyncClient, world: World, other_world: World
) -> None:
    foreign = await client.get(f"{TASKS}/{other_world.task.id}", headers=world.headers)
    assert foreign.status_code == 404
    assert foreign.json() == error(404, f"Task '{other_world.task.id}' not found")
    missing_id = uuid.uuid4()
    missing = await client.get(f"{TASKS}/{missing_id}", headers=world.headers)
    assert missing.status_code == 404
    assert missing.json() == error(404, f"Task '{missing_id}' not found")
    listed = (await client.get(TASKS, headers=world.headers)).json()
    assert [t["id"] for t in listed["data"]] == [str(world.task.id)]


async def test_malformed_task_id_is_400_naming_it(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"{TASKS}/42", headers=world.headers)
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("activity_id: ")
    assert [d["field"] for d in body["details"]] == ["activity_id"]


# internal status -> (status, lifecycleStatus, label es, label en, canForceRetryDispatch)
STATUS_VIEWS = {
    "READY": ("PENDING", "SCHEDULED", "Programada", "Scheduled", False),
    "UNRESOLVED": ("PENDING", "UNRESOLVED", "Sin resolver", "Unresolved", False),
    "DISPATCHED": ("IN_PROGRESS", "DISPATCHED", "Enviada", "Dispatched", False),
    "FAILED": ("PENDING", "DISPATCH_FAILED", "Envío fallido", "Dispatch failed", True),
    "COMPLETED": ("COMPLETED", "COMPLETED", "Completada", "Completed", False),
    "CANCELED": ("CANCELLED", "CANCELED", "Cancelada", "Canceled", False),
}


@pytest.mark.parametrize("locale", ["es", "en"])
@pytest.mark.parametrize("internal", list(STATUS_VIEWS))
async def test_status_views(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    internal: str,
    locale: str,
) -> None:
    world = await build_world(session_factory, slug=f"t-{locale}", locale=locale)
    error_text = "HTTP 503 from https://provider.example/tasks"
    await set_status(session_factory, world.task.id, internal, last_dispatch_error=error_text)
    status, lifecycle, label_es, label_en, can_retry = STATUS_VIEWS[internal]
    item = (await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)).json()
    assert item["status"] == status
    assert item["lifecycleStatus"] == lifecycle
    assert item["lifecycleStatusLabel"] == (label_es if locale == "es" else label_en)
    assert item["canForceRetryDispatch"] is can_retry
    assert item["lifecycleStatusDetail"] == (error_text if internal == "FAILED" else None)
    listed = await client.get(TASKS, params={"status": status}, headers=world.headers)
    assert [t["id"] for t in listed.json()["data"]] == [str(world.task.id)]
    others = [s for s in ("PENDING", "IN_PROGRESS", "COMPLETED", "CANCELLED") if s != status]
    for other in others:
        empty = await client.get(TASKS, params={"status": other}, headers=world.headers)
        assert empty.json()["data"] == [], (internal, other)


async def test_accept_language_does_not_change_status_labels(
    client: httpx.AsyncClient, world: World
) -> None:
    item = (
        await client.get(
            f"{TASKS}/{world.task.id}", headers={**world.headers, "Accept-Language": "en"}
        )
    ).json()
    assert item["lifecycleStatusLabel"] == "Programada"


async def test_task_list_query_is_documented_and_read_like_fastapi(
    client: httpx.AsyncClient, world: World
) -> None:
    """The query is validated as one model outside FastAPI's parameters: still documented."""
    document = (await client.get("/openapi.json")).json()
    parameters = document["paths"][TASKS]["get"]["parameters"]
    assert [p["name"] for p in parameters] == [
        "page",
        "per_page",
        "limit",
        "status",
        "result_status",
        "channel",
        "external_commerce_id",
        "external_operator_id",
        "scheduled_from",
        "scheduled_to",
        "updated_since",
        "cursor",
    ]
    assert all(p["in"] == "query" and p["required"] is False for p in parameters)
    schemas = {p["name"]: p["schema"] for p in parameters}
    assert schemas["per_page"]["maximum"] == 100
    assert {"$ref": "#/components/schemas/IntegrationStatus"} in schemas["status"]["anyOf"]
    assert "IntegrationStatus" in document["components"]["schemas"]
    repeated = await client.get(f"{TASKS}?per_page=3&per_page=5", headers=world.headers)
    assert repeated.json()["meta"]["limit"] == 5
    unknown = await client.get(f"{TASKS}?perPage=3", headers=world.headers)
    assert unknown.status_code == 400
    assert unknown.json()["details"] == [
        {"field": "perPage", "message": "perPage: is not a known query parameter"}
    ]
