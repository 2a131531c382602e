"""The task list makes a fixed number of SQL statements whatever the page size (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities.status import Channel
from taskbridge.db import session_scope
from taskbridge.results import service as results
from taskbridge.results.schemas import ResultSubmission
from tests.factories import World, create_commerce, create_operator, create_task
from tests.integration.support import TASKS, sent_statements, submission

BASE = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
CHANNELS = list(Channel)


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the fixture is active."""
    with sent_statements(app) as sent:
        yield sent


async def seed_150_tasks_with_results(
    factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    """150 tasks over 10 commerces and 10 operators, each with a result (some replaced)."""
    tenant_id = world.tenant.id
    submitter = results.Submitter(tenant_id=tenant_id, actor="test")
    async with session_scope(factory) as session:
        for n in range(10):
            await create_commerce(session, tenant_id, f"COM-{n}", f"Comercio {n}")
            await create_operator(session, tenant_id, f"OP-{n}", f"Operador {n}")
        for n in range(150):
            task = await create_task(
                session,
                tenant_id,
                commerce=f"COM-{n % 10}",
                operator=None if n % 7 == 0 else f"OP-{n % 10}",
                scheduled_at=BASE + timedelta(minutes=n),
                channel=CHANNELS[n % len(CHANNELS)],
            )
            body = submission(task.id, "NO_CONTACT", status="PENDING", commerce=f"COM-{n % 10}")
            await results.submit_result(session, submitter, ResultSubmission.model_validate(body))
            if n % 3 == 0:
                final = submission(task.id, commerce=f"COM-{n % 10}", raw_payload={"n": n})
                await results.submit_result(
                    session, submitter, ResultSubmission.model_validate(final)
                )


async def count_for(
    client: httpx.AsyncClient, world: World, statements: list[str], **params: Any
) -> int:
    statements.clear()
    response = await client.get(TASKS, params=params, headers=world.headers)
    assert response.status_code == 200
    return len(statements)


async def test_statement_count_does_not_grow_with_the_page(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    statements: list[str],
) -> None:
    await seed_150_tasks_with_results(session_factory, world)
    warm_up = await client.get(TASKS, headers=world.headers)
    assert warm_up.json()["meta"]["total"] == 151
    one = await count_for(client, world, statements, per_page=1)
    hundred = await count_for(client, world, statements, per_page=100)
    assert one == hundred
    page = (await client.get(TASKS, params={"per_page": 100}, headers=world.headers)).json()
    assert len(page["data"]) == 100
    assert all(t["result"] is not None for t in page["data"] if t["id"] != str(world.task.id))
    assert {t["operatorName"] for t in page["data"]} >= {None, "Operador 1"}
    cursor = page["meta"]["nextCursor"]
    by_cursor = await count_for(client, world, statements, per_page=100, cursor=cursor)
    assert by_cursor == hundred
    filtered = await count_for(
        client, world, statements, per_page=100, result_status="EFFECTIVE", channel="SALESMAN"
    )
    assert filtered == hundred
