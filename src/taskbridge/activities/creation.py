"""New READY tasks: the columns one starts with, and many created in a few statements.

``service.create_task`` builds its task from :func:`task_columns`; :func:`create_tasks` (the CSV
import) writes the same columns with one executemany per table instead of one unit of work per
task, so a 10,000-task import holds the database's write lock for a moment, not for minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import publishing
from taskbridge.activities.repository import ActivityRepository
from taskbridge.activities.schemas import TaskCreate
from taskbridge.activities.status import ActivityOrigin, ActivityStatus
from taskbridge.dispatch import outbox
from taskbridge.errors import Conflict
from taskbridge.kit.time import utcnow

CREATED = "created"
"""The reason of a new task's first event."""


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task to create, its commerce and operator already found in this tenant."""

    data: TaskCreate
    commerce_id: uuid.UUID
    operator_id: uuid.UUID | None


def task_columns(
    data: TaskCreate, commerce_id: uuid.UUID, operator_id: uuid.UUID | None
) -> dict[str, Any]:
    """A new READY task's columns (the rest are the columns' defaults)."""
    return {
        "id": uuid.uuid4(),
        "type": "TASK",
        "channel": str(data.channel),
        "status": ActivityStatus.READY,
        "reason": data.reason,
        "commerce_id": commerce_id,
        "operator_id": operator_id,
        "scheduled_at": data.scheduled_at,
        "idempotency_key": data.idempotency_key,
        "provider_activity_id": data.provider_activity_id,
        "origin": ActivityOrigin.ACTIVITY,
    }


def provider_id_taken(provider_activity_id: str, activity_id: uuid.UUID) -> Conflict:
    """The 409 of a ``provider_activity_id`` another activity of the tenant already has."""
    return Conflict(
        f"provider_activity_id '{provider_activity_id}' is already used by activity {activity_id}",
        existingActivityId=str(activity_id),
    )


async def ids_by_idempotency_key(
    session: AsyncSession, tenant_id: uuid.UUID, keys: Sequence[str]
) -> dict[str, uuid.UUID]:
    """The activities that already exist with these keys."""
    return await ActivityRepository(session, tenant_id).ids_by_idempotency_key(keys)


async def ids_by_provider_id(
    session: AsyncSession, tenant_id: uuid.UUID, provider_ids: Sequence[str]
) -> dict[str, uuid.UUID]:
    """The activities that already have these ``provider_activity_id``s."""
    return await ActivityRepository(session, tenant_id).ids_by_provider_id(provider_ids)


async def create_tasks(
    session: AsyncSession, tenant_id: uuid.UUID, tasks: Sequence[NewTask], *, actor: str
) -> list[uuid.UUID]:
    """What ``create_task`` does for each task, in a few statements: the tasks, their first
    events, their deliveries, their feed events (rendered from the rows, one insert). The caller
    has checked, in this transaction, that no key or provider id is taken (the unique
    constraints refuse the whole batch otherwise)."""
    now = utcnow()
    rows = [
        {**task_columns(t.data, t.commerce_id, t.operator_id), "created_at": now, "updated_at": now}
        for t in tasks
    ]
    events = [
        {
            "id": uuid.uuid4(),
            "activity_id": row["id"],
            "from_status": None,
            "to_status": ActivityStatus.READY,
            "reason": CREATED,
            "actor": actor,
            "created_at": now,
        }
        for row in rows
    ]
    await ActivityRepository(session, tenant_id).insert_tasks(rows, events)
    await outbox.enqueue_many(session, tenant_id, [(row["id"], row["channel"]) for row in rows])
    await publishing.publish_created(session, tenant_id, rows)
    return [row["id"] for row in rows]
