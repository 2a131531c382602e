"""The import's bulk write path: the same rows as one task at a time, and rechecked when written.

An import checks its rows with no database (``prepare``), then looks up and writes in one
transaction (``apply``); these tests hold it to what ``create_task`` would have stored, and show
that what changes between the two steps is judged at the moment of writing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities import service as activities
from taskbridge.activities.schemas import TaskCreate
from taskbridge.activities.status import Channel
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch.schemas import Provider
from taskbridge.imports import service as imports
from taskbridge.imports.schemas import ImportKind, ImportSummary, InvalidImport
from taskbridge.imports.table import read_table
from taskbridge.models import Activity, ActivityEvent, Base, Delivery
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorItem, OperatorType
from tests.cli.test_imports import TASK_HEADER
from tests.dispatch.conftest import make_config
from tests.factories import World, build_world
from tests.users.support import PASSWORD, add_person
from tests.web.support import csrf_of, sign_in

ACTOR = "test"
VARYING = {"id", "activity_id", "idempotency_key", "created_at", "updated_at", "next_attempt_at"}
"""Columns two separately created tasks (and their events, deliveries) never share."""


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(session_factory)


def _columns(row: Base) -> dict[str, Any]:
    return {
        column.key: getattr(row, column.key)
        for column in row.__mapper__.column_attrs
        if column.key not in VARYING
    }


async def _stored(
    factory: async_sessionmaker[AsyncSession], key: str
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """A task's columns, its events' and its deliveries', without what always differs."""
    async with factory() as session:
        task = await session.scalar(select(Activity).where(Activity.idempotency_key == key))
        assert task is not None
        events = await session.scalars(
            select(ActivityEvent).where(ActivityEvent.activity_id == task.id)
        )
        deliveries = await session.scalars(select(Delivery).where(Delivery.activity_id == task.id))
        return _columns(task), [_columns(e) for e in events], [_columns(d) for d in deliveries]


async def _import(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, rows: str
) -> ImportSummary:
    async with session_scope(factory) as session:
        return await imports.import_csv(
            session, tenant_id, ImportKind.TASKS, TASK_HEADER + rows, actor=ACTOR
        )


async def test_an_imported_task_is_stored_as_create_task_stores_it(
    world: World, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_config(session_factory, settings, world.tenant.id, None, provider=Provider.MOCK)
    for channel in (Channel.SALESMAN, Channel.CALLCENTER):  # pushed, and not
        async with session_scope(session_factory) as session:
            task = TaskCreate(
                idempotency_key=f"one-{channel}",
                commerce_external_id="COM-001",
                operator_external_id="OP-17",
                channel=channel,
                scheduled_at=datetime(2030, 4, 15, 9, tzinfo=UTC),
                reason="Visita mensual",
                provider_activity_id=f"PRV-one-{channel}",
            )
            await activities.create_task(session, world.tenant.id, task, actor=ACTOR)
        row = f"bulk-{channel},COM-001,{channel},2030-04-15T09:00:00Z,Visita mensual,OP-17,PRV-X\n"
        await _import(session_factory, world.tenant.id, row.replace("PRV-X", f"PRV-b-{channel}"))

        one = await _stored(session_factory, f"one-{channel}")
        bulk = await _stored(session_factory, f"bulk-{channel}")
        assert one[0] == {**bulk[0], "provider_activity_id": f"PRV-one-{channel}"}
        assert one[1:] == bulk[1:]
        assert len(bulk[1]) == 1
        assert len(bulk[2]) == (1 if channel == Channel.SALESMAN else 0)


async def test_a_key_created_after_the_checks_is_left_unchanged(
    world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    rows = (
        "t-1,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,,\n"
        "t-2,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,,\n"
    )
    prepared = imports.prepare(read_table(ImportKind.TASKS, TASK_HEADER + rows))
    async with session_scope(session_factory) as session:
        meanwhile = await activities.create_task(
            session,
            world.tenant.id,
            TaskCreate(
                idempotency_key="t-2",
                commerce_external_id="COM-001",
                channel=Channel.CALLCENTER,
                scheduled_at=datetime(2030, 1, 1, tzinfo=UTC),
                reason="created through the API meanwhile",
            ),
            actor=ACTOR,
        )
    async with session_scope(session_factory) as session:
        summary = await imports.apply(session, world.tenant.id, prepared, actor=ACTOR)
    assert (summary.created, summary.unchanged, summary.total) == (1, 1, 2)
    assert [(s.line, s.activity_id) for s in summary.skipped] == [(3, meanwhile.id)]
    stored = await _stored(session_factory, "t-2")
    assert stored[0]["channel"] == "CALLCENTER"


async def test_every_problem_only_the_database_reveals_is_listed_at_once(
    world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_scope(session_factory) as session:
        twin = OperatorItem(external_id="OP-17", type=OperatorType.CALLCENTER, name="Ana (CC)")
        await operators.sync(session, world.tenant.id, [twin])
    await _import(session_factory, world.tenant.id, "t-0,COM-001,SMS,2030-04-15T09:00:00Z,,,P-1\n")
    rows = (
        "t-1,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,OP-17,\n"
        "t-2,COM-404,SALESMAN,2030-04-15T09:00:00Z,Visita,,P-1\n"
        "t-3,COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita,,P-2\n"
        "t-4,COM-001,SALESMAN,2030-04-15,Visita,,\n"
    )
    with pytest.raises(InvalidImport) as refused:
        await _import(session_factory, world.tenant.id, rows)
    taken = (await _stored(session_factory, "t-0"))[0]
    assert taken["provider_activity_id"] == "P-1"
    messages = [str(error) for error in refused.value.errors]
    assert messages[0] == (
        "line 2: operator_external_id: 'OP-17' matches several operators (CALLCENTER, SALESMAN)"
    )
    assert messages[1] == "line 3: commerce_external_id: Commerce 'COM-404' not found"
    assert messages[2].startswith("line 3: provider_activity_id 'P-1' is already used by activity ")
    assert messages[3].startswith("line 5: scheduled_at: ")
    assert len(messages) == 4
    async with session_factory() as session:
        keys = set(await session.scalars(select(Activity.idempotency_key)))
    assert "t-3" not in keys


async def test_the_panel_imports_tasks_and_shows_the_summary(
    world: World, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    admin = await add_person(session_factory, world.tenant.id, "ADMIN")
    await sign_in(client, admin.email, PASSWORD)
    page = await client.get("/admin/tasks")
    rows = "".join(
        f"p-{n},COM-001,SALESMAN,2030-04-15T09:00:00Z,Visita {n},OP-17,\n" for n in range(50)
    )
    response = await client.post(
        "/admin/tasks/import",
        data={"csrf_token": csrf_of(page)},
        files={"file": ("tasks.csv", (TASK_HEADER + rows).encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert '<dd data-count="created">50</dd>' in response.text
    again = await client.post(
        "/admin/tasks/import",
        data={"csrf_token": csrf_of(page)},
        files={"file": ("tasks.csv", (TASK_HEADER + rows).encode(), "text/csv")},
    )
    assert '<dd data-count="unchanged">50</dd>' in again.text
