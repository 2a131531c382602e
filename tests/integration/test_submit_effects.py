"""What a submitted result does: the 201 body, the activity's move, follow-ups, replacement."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.models import ActivityEvent
from tests.factories import World
from tests.integration.support import (
    RESULT_KEYS,
    SUBMIT,
    TASK_RESULT_KEYS,
    TASKS,
    TIMESTAMP,
    add_commerce_and_operator,
    add_tasks,
    in_days,
    reschedule,
    results_of,
    set_status,
    submission,
)


async def post(client: httpx.AsyncClient, world: World, body: dict[str, Any]) -> httpx.Response:
    return await client.post(SUBMIT, headers=world.headers, json=body)


async def task(client: httpx.AsyncClient, world: World, activity_id: str) -> dict[str, Any]:
    response = await client.get(f"{TASKS}/{activity_id}", headers=world.headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_201_body_has_exactly_the_contract_keys(
    client: httpx.AsyncClient, world: World
) -> None:
    before = utcnow() - timedelta(milliseconds=1)
    future = in_days(5)
    body = submission(
        world.task.id,
        "RESCHEDULE",
        occurred_at="2026-04-11T07:30:00-03:00",
        external_status="done-by-provider",
        task_result={
            "comment": "Cliente pide volver el lunes",
            "contact_type": "OUTBOUND",
            "operator_external_id": "OP-17",
            "future_scheduled_at": future,
        },
    )
    response = await post(client, world, body)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    result = response.json()
    assert set(result) == RESULT_KEYS
    assert set(result["taskResult"]) == TASK_RESULT_KEYS
    uuid.UUID(result["id"])
    uuid.UUID(result["followUpActivityId"])
    assert TIMESTAMP.match(result["createdAt"])
    assert result["createdAt"] >= before.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert {
        k: v for k, v in result.items() if k not in {"id", "followUpActivityId", "createdAt"}
    } == {
        "activityId": str(world.task.id),
        "providerActivityId": None,
        "commerceExternalId": "COM-001",
        "occurredAt": "2026-04-11T10:30:00.000Z",
        "status": "EFFECTIVE",
        "externalStatus": "done-by-provider",
        "source": "ACTIVITY",
        "taskResult": {
            "result": "RESCHEDULE",
            "label": "Reprogramar visita",
            "comment": "Cliente pide volver el lunes",
            "contactType": "OUTBOUND",
            "operatorExternalId": "OP-17",
            "futureScheduledAt": future,
            "payload": None,
        },
        "rawPayload": None,
    }


async def test_timestamps_keep_milliseconds(client: httpx.AsyncClient, world: World) -> None:
    body = submission(world.task.id, occurred_at="2026-04-11T10:30:00.123456+00:00")
    result = (await post(client, world, body)).json()
    assert result["occurredAt"] == "2026-04-11T10:30:00.123Z"
    item = await task(client, world, str(world.task.id))
    assert item["occurredAt"] == "2026-04-11T10:30:00.123Z"
    assert item["result"]["occurredAt"] == "2026-04-11T10:30:00.123Z"


async def test_payloads_are_returned_untouched(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    raw = {
        "z": [1, 2.5, "tres", None, True, {"deep": {"deeper": []}}],
        "a": "ñandú — “quoted” 😀",
        "camelCase": {"snake_case": 1, "n": -12345678901234},
        "empty": {},
    }
    payload = {"CustomField": "keeps its case", "nested": {"list": [{"x": 1}]}}
    body = submission(world.task.id, raw_payload=raw, task_result={"payload": payload})
    result = (await post(client, world, body)).json()
    assert result["rawPayload"] == raw
    assert result["taskResult"]["payload"] == payload
    stored = (await task(client, world, str(world.task.id)))["result"]
    assert stored["rawPayload"] == raw
    assert stored["taskResult"]["payload"] == payload
    [row] = await results_of(session_factory, world.task.id)
    assert row.raw_payload == raw
    assert row.payload == payload


async def test_effective_completes_and_sets_occurred_at(
    client: httpx.AsyncClient, world: World
) -> None:
    await post(client, world, submission(world.task.id))
    item = await task(client, world, str(world.task.id))
    assert (item["status"], item["lifecycleStatus"]) == ("COMPLETED", "COMPLETED")
    assert item["occurredAt"] == "2026-04-11T10:30:00.000Z"
    assert item["result"]["status"] == "EFFECTIVE"


async def test_not_effective_completes_too(client: httpx.AsyncClient, world: World) -> None:
    await post(client, world, submission(world.task.id, "NOT_INTERESTED", status="NOT_EFFECTIVE"))
    item = await task(client, world, str(world.task.id))
    assert item["status"] == "COMPLETED"
    assert item["occurredAt"] == "2026-04-11T10:30:00.000Z"


async def test_pending_leaves_the_status(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    for internal, shown in (("READY", "PENDING"), ("DISPATCHED", "IN_PROGRESS")):
        [activity] = await add_tasks(session_factory, world.tenant.id, [utcnow()])
        await set_status(session_factory, activity.id, internal)
        body = submission(activity.id, "NO_CONTACT", status="PENDING")
        assert (await post(client, world, body)).status_code == 201
        item = await task(client, world, str(activity.id))
        assert item["status"] == shown
        assert item["occurredAt"] is None
        assert item["result"]["status"] == "PENDING"


async def test_every_open_status_can_be_completed(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    for internal in ("READY", "DISPATCHED", "FAILED", "UNRESOLVED"):
        [activity] = await add_tasks(session_factory, world.tenant.id, [utcnow()])
        await set_status(session_factory, activity.id, internal, last_dispatch_error="boom")
        assert (await post(client, world, submission(activity.id))).status_code == 201
        item = await task(client, world, str(activity.id))
        assert item["status"] == "COMPLETED", internal
        assert item["lifecycleStatusDetail"] is None
        assert item["canForceRetryDispatch"] is False


async def test_completion_is_recorded_as_an_event(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await post(client, world, submission(world.task.id))
    async with session_scope(session_factory) as session:
        events = (
            await session.scalars(
                select(ActivityEvent)
                .where(ActivityEvent.activity_id == world.task.id)
                .order_by(ActivityEvent.created_at)
            )
        ).all()
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "READY"),
        ("READY", "COMPLETED"),
    ]
    assert events[-1].actor.startswith("api_key:")


async def test_follow_up_copies_the_task_and_is_listed(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await add_commerce_and_operator(session_factory, world.tenant.id, "009")
    [parent] = await add_tasks(
        session_factory,
        world.tenant.id,
        [utcnow()],
        commerce="COM-009",
        operator="OP-009",
        reason="Cobranza",
        provider_activity_id="PRV-PARENT",
    )
    future = in_days(4)
    body = submission(
        parent.id,
        "RESCHEDULE",
        commerce="COM-009",
        task_result={"future_scheduled_at": future},
    )
    result = (await post(client, world, body)).json()
    follow_up = await task(client, world, result["followUpActivityId"])
    assert {k: follow_up[k] for k in follow_up if k not in {"id", "createdAt", "updatedAt"}} == {
        "activityOrigin": "FOLLOW_UP",
        "type": "TASK",
        "status": "PENDING",
        "channel": "SALESMAN",
        "scheduledAt": future,
        "occurredAt": None,
        "lifecycleStatus": "SCHEDULED",
        "lifecycleStatusLabel": "Programada",
        "lifecycleStatusDetail": None,
        "canForceRetryDispatch": False,
        "commerceExternalId": "COM-009",
        "commerceName": "Comercio 009",
        "operatorExternalId": "OP-009",
        "operatorName": "Operador 009",
        "providerActivityId": None,
        "reason": "Cobranza",
        "parentActivityId": str(parent.id),
        "result": None,
    }
    listed = await client.get(TASKS, params={"per_page": 100}, headers=world.headers)
    assert result["followUpActivityId"] in [t["id"] for t in listed.json()["data"]]
    pending = await client.get(
        TASKS,
        params={"status": "PENDING", "external_commerce_id": "COM-009"},
        headers=world.headers,
    )
    assert [t["id"] for t in pending.json()["data"]] == [result["followUpActivityId"]]


async def test_pending_reschedule_creates_a_follow_up_and_keeps_the_status(
    client: httpx.AsyncClient, world: World
) -> None:
    body = reschedule(world.task.id, status="PENDING")
    result = (await post(client, world, body)).json()
    assert result["followUpActivityId"] is not None
    assert (await task(client, world, str(world.task.id)))["status"] == "PENDING"


async def test_pending_result_is_replaced_without_override(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    first = await post(client, world, submission(world.task.id, "NO_CONTACT", status="PENDING"))
    second = await post(client, world, submission(world.task.id))
    assert second.status_code == 201
    assert (await task(client, world, str(world.task.id)))["result"] == second.json()
    old, new = await results_of(session_factory, world.task.id)
    assert (str(old.id), str(new.id)) == (first.json()["id"], second.json()["id"])
    assert old.superseded_at is not None
    assert new.superseded_at is None


async def test_hard_override_replaces_a_final_result(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    first = await post(client, world, submission(world.task.id))
    override = submission(
        world.task.id,
        "NOT_INTERESTED",
        status="NOT_EFFECTIVE",
        hard_override=True,
        occurred_at="2026-04-12T08:00:00Z",
    )
    second = await post(client, world, override)
    assert second.status_code == 201
    item = await task(client, world, str(world.task.id))
    assert item["result"] == second.json()
    assert item["status"] == "COMPLETED"
    assert item["occurredAt"] == "2026-04-12T08:00:00.000Z"
    old, new = await results_of(session_factory, world.task.id)
    assert str(old.id) == first.json()["id"]
    assert old.superseded_at is not None
    assert new.superseded_at is None
    await assert_history_through_admin_route(client, world, first.json()["id"], second.json()["id"])


async def assert_history_through_admin_route(
    client: httpx.AsyncClient, world: World, old_id: str, new_id: str
) -> None:
    """``GET /api/activities/{id}`` (admin) shows the replaced result with ``supersededAt``."""
    response = await client.get(f"/api/activities/{world.task.id}", headers=world.headers)
    assert response.status_code == 200, response.text
    history = response.json()["results"]
    assert [r["id"] for r in history] == [new_id, old_id]
    assert history[0]["supersededAt"] is None
    assert TIMESTAMP.match(history[1]["supersededAt"])


async def test_hard_override_records_a_result_on_a_canceled_activity(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await set_status(session_factory, world.task.id, "CANCELED")
    response = await post(client, world, submission(world.task.id, hard_override=True))
    assert response.status_code == 201
    item = await task(client, world, str(world.task.id))
    assert item["status"] == "COMPLETED"
    assert item["result"] == response.json()


async def test_replacing_a_reschedule_cancels_its_unstarted_follow_up(
    client: httpx.AsyncClient, world: World
) -> None:
    first = (await post(client, world, reschedule(world.task.id))).json()
    override = submission(world.task.id, hard_override=True)
    assert (await post(client, world, override)).status_code == 201
    follow_up = await task(client, world, first["followUpActivityId"])
    assert follow_up["status"] == "CANCELLED"
