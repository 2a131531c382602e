"""``Idempotency-Key`` on the result submission: replay, conflicts, scope, release on failure."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth import service as auth
from taskbridge.db import session_scope
from taskbridge.idempotency import service as idempotency
from taskbridge.kit.time import utcnow
from taskbridge.models import IdempotencyRecord
from tests.factories import World, create_key
from tests.integration.support import (
    SUBMIT,
    TASKS,
    add_tasks,
    count_results,
    error,
    submission,
    submission_for,
)


async def post(
    client: httpx.AsyncClient, key: str, body: Any, idempotency_key: str | None = "retry-1"
) -> httpx.Response:
    headers = {"x-api-key": key}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return await client.post(SUBMIT, headers=headers, json=body)


async def records(factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(factory) as session:
        return int(await session.scalar(select(func.count(IdempotencyRecord.id))) or 0)


async def test_same_key_same_body_replays_the_first_response(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    body = submission_for(world)
    first = await post(client, world.key, body)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    reordered = json.loads(json.dumps(dict(reversed(list(body.items())))))
    for again_body in (body, reordered):
        again = await post(client, world.key, again_body)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"] == "application/json"
        assert again.content == first.content
    assert await count_results(session_factory) == 1
    task = (await client.get(f"{TASKS}/{world.task.id}", headers=world.headers)).json()
    assert task["result"] == first.json()


async def test_replay_does_not_recreate_a_follow_up(
    client: httpx.AsyncClient, world: World
) -> None:
    body = submission(
        world.task.id, "RESCHEDULE", task_result={"future_scheduled_at": "2031-01-01T09:00:00Z"}
    )
    first = await post(client, world.key, body)
    again = await post(client, world.key, body)
    assert again.json()["followUpActivityId"] == first.json()["followUpActivityId"]
    listed = await client.get(TASKS, headers=world.headers)
    assert listed.json()["meta"]["total"] == 2


async def test_same_key_different_body_is_422(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    assert (await post(client, world.key, submission_for(world))).status_code == 201
    changed = submission_for(world, "NOT_INTERESTED", status="NOT_EFFECTIVE")
    response = await post(client, world.key, changed)
    assert response.status_code == 422
    assert response.json() == error(
        422, "Idempotency-Key was already used with a different request body"
    )
    assert "idempotent-replayed" not in response.headers
    assert await count_results(session_factory) == 1


async def test_request_while_the_first_is_in_flight_is_409(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    body = submission_for(world)
    raw = json.dumps(body).encode()
    async with session_scope(session_factory) as session:
        [key] = await auth.list_api_keys(session, world.tenant.id)
        session.add(
            IdempotencyRecord(
                id=uuid.uuid4(),
                tenant_id=world.tenant.id,
                api_key_id=key.id,
                key="retry-1",
                request_hash=idempotency.request_fingerprint(raw),
                created_at=utcnow(),
            )
        )
    response = await post(client, world.key, body)
    assert response.status_code == 409
    assert response.json() == error(
        409, "A request with this Idempotency-Key is still being processed"
    )
    assert await count_results(session_factory) == 0
    other_key = await post(client, world.key, body, idempotency_key="retry-2")
    assert other_key.status_code == 201


async def test_keys_are_scoped_per_api_key(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with session_scope(session_factory) as session:
        second_key = await create_key(session, world.tenant.id, name="second")
    [other_task] = await add_tasks(session_factory, world.tenant.id, [utcnow()])
    first = await post(client, world.key, submission_for(world))
    second = await post(client, second_key, submission(other_task.id))
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json()["activityId"] == str(other_task.id)
    assert await count_results(session_factory) == 2
    assert await records(session_factory) == 2


async def test_a_failed_request_does_not_pin_the_key(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    label = submission_for(world, "Venta completada")
    refused = await post(client, world.key, label)
    assert refused.status_code == 400
    again = await post(client, world.key, label)
    assert again.status_code == 400
    assert "idempotent-replayed" not in again.headers
    fixed = await post(client, world.key, submission_for(world))
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers
    assert await records(session_factory) == 1


async def test_a_404_for_a_task_not_yet_synced_does_not_stick(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    body = submission(None, provider_activity_id="PRV-LATE")
    assert (await post(client, world.key, body)).status_code == 404
    [late] = await add_tasks(
        session_factory, world.tenant.id, [utcnow()], provider_activity_id="PRV-LATE"
    )
    response = await post(client, world.key, body)
    assert response.status_code == 201
    assert response.json()["activityId"] == str(late.id)


async def test_a_409_conflict_is_not_replayed_as_a_success(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await post(client, world.key, submission_for(world), "a")).status_code == 201
    conflicting = await post(client, world.key, submission_for(world, "NO_CONTACT"), "b")
    assert conflicting.status_code == 409
    assert "idempotent-replayed" not in conflicting.headers


async def test_without_the_header_every_request_is_judged_afresh(
    client: httpx.AsyncClient, world: World
) -> None:
    body = submission_for(world)
    assert (await post(client, world.key, body, None)).status_code == 201
    assert (await post(client, world.key, body, None)).status_code == 409


async def test_key_longer_than_255_characters_is_400(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    response = await post(client, world.key, submission_for(world), "k" * 256)
    assert response.status_code == 400
    message = "Idempotency-Key: must be 1 to 255 printable characters"
    assert response.json() == error(
        400, message, details=[{"field": "Idempotency-Key", "message": message}]
    )
    assert await count_results(session_factory) == 0
    for unprintable in ("tab\there", "nul\u0000"):
        refused = await post(client, world.key, submission_for(world), unprintable)
        assert refused.json() == error(
            400, message, details=[{"field": "Idempotency-Key", "message": message}]
        )
    longest = await post(client, world.key, submission_for(world), "k" * 255)
    assert longest.status_code == 201


async def insert_record(
    factory: async_sessionmaker[AsyncSession],
    world: World,
    *,
    age: timedelta,
    request_hash: str,
    response: tuple[int, str] | None,
) -> None:
    async with session_scope(factory) as session:
        [key] = await auth.list_api_keys(session, world.tenant.id)
        session.add(
            IdempotencyRecord(
                id=uuid.uuid4(),
                tenant_id=world.tenant.id,
                api_key_id=key.id,
                key="retry-1",
                request_hash=request_hash,
                response_status=None if response is None else response[0],
                response_body=None if response is None else response[1],
                created_at=utcnow() - age,
            )
        )


async def test_a_key_older_than_24_hours_is_forgotten(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await insert_record(
        session_factory,
        world,
        age=timedelta(hours=24, minutes=1),
        request_hash="0" * 64,
        response=(201, '{"old": true}'),
    )
    response = await post(client, world.key, submission_for(world))
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert await records(session_factory) == 1


async def test_a_key_younger_than_24_hours_is_remembered(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    await insert_record(
        session_factory,
        world,
        age=timedelta(hours=23, minutes=59),
        request_hash="0" * 64,
        response=(201, '{"old": true}'),
    )
    assert (await post(client, world.key, submission_for(world))).status_code == 422


async def test_a_reservation_whose_request_died_is_taken_over(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    body = submission_for(world)
    await insert_record(
        session_factory,
        world,
        age=timedelta(minutes=2),
        request_hash=idempotency.request_fingerprint(json.dumps(body).encode()),
        response=None,
    )
    response = await post(client, world.key, body)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


async def test_concurrent_retries_store_one_result(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    body = submission_for(world)
    responses = await asyncio.gather(*(post(client, world.key, body) for _ in range(4)))
    firsts = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(firsts) == 1
    for other in responses:
        if other is firsts[0]:
            continue
        assert other.status_code in {201, 409}, other.text
        if other.status_code == 201:
            assert other.headers["idempotent-replayed"] == "true"
            assert other.content == firsts[0].content
    assert await count_results(session_factory) == 1
