"""What activities tell the event feed: a task event carries the task as the integration API
shows it (``presenters.task_document``, in the tenant's language), read after the change, or
built from the values the change wrote when it has them all (a result submission, an import).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities.presenters import task_document
from taskbridge.activities.repository import LOOKUP_CHUNK, ActivityRepository, ResultRow, TaskRow
from taskbridge.activities.status import ActivityStatus
from taskbridge.activities.submission_repository import LockedActivity
from taskbridge.events import service as events
from taskbridge.events.schemas import EventType
from taskbridge.models import Activity
from taskbridge.tenants import service as tenants

MOVES: dict[ActivityStatus, EventType] = {
    ActivityStatus.DISPATCHED: EventType.TASK_DISPATCHED,
    ActivityStatus.FAILED: EventType.TASK_DISPATCH_FAILED,
    ActivityStatus.CANCELED: EventType.TASK_CANCELED,
    ActivityStatus.COMPLETED: EventType.TASK_COMPLETED,
}
"""The status moves the feed reports (a forced retry, FAILED → READY, is not one)."""


async def task_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    wanted: Sequence[tuple[EventType, uuid.UUID]],
) -> list[events.NewEvent]:
    """The events ``wanted`` as (type, task id), each with its task as it stands now."""
    if not wanted:
        return []
    repo = ActivityRepository(session, tenant_id)
    ids = list(dict.fromkeys(activity_id for _, activity_id in wanted))
    rows = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        for row in await repo.get_tasks(ids[start : start + LOOKUP_CHUNK]):
            rows[row.id] = row
    locale = await tenants.locale_of(session, tenant_id)
    documents = {activity_id: task_document(row, locale) for activity_id, row in rows.items()}
    return [
        events.NewEvent(type=event_type, subject_id=activity_id, data=documents[activity_id])
        for event_type, activity_id in wanted
        if activity_id in documents
    ]


def completed_task(
    activity: LockedActivity, result: ResultRow, *, updated_at: datetime, locale: str
) -> events.NewEvent:
    """``task.completed`` of a submission's activity, from the locked row and what it wrote
    (``record_result``: COMPLETED at the result's ``occurred_at``, the result current)."""
    row = _locked_row(activity)._replace(
        status=ActivityStatus.COMPLETED,
        occurred_at=result.occurred_at,
        updated_at=updated_at,
        result=result,
    )
    return events.NewEvent(EventType.TASK_COMPLETED, activity.id, task_document(row, locale))


def created_follow_up(
    parent: LockedActivity, follow_up: Activity, *, locale: str
) -> events.NewEvent:
    """``follow_up.created`` from its parent's row and the follow-up ``create_follow_up`` wrote
    (same commerce and operator, READY, no result)."""
    row = _locked_row(parent)._replace(
        **{name: getattr(follow_up, name) for name in _OWN_COLUMNS},
        occurred_at=None,
        updated_at=follow_up.updated_at,
        last_dispatch_error=None,
        provider_activity_id=None,
        dispatch_attempts=0,
    )
    return events.NewEvent(EventType.FOLLOW_UP_CREATED, follow_up.id, task_document(row, locale))


_OWN_COLUMNS = (
    "id",
    "origin",
    "type",
    "status",
    "channel",
    "scheduled_at",
    "created_at",
    "reason",
    "parent_activity_id",
    "idempotency_key",
)
"""The follow-up's columns ``create_follow_up`` sets (or their defaults, set at the flush)."""
_LOCKED_COLUMNS = tuple(
    name for name in TaskRow._fields if name not in {"occurred_at", "updated_at", "result"}
)


def _locked_row(activity: LockedActivity) -> TaskRow:
    """The locked activity as a task row, as it stood when locked, without its result (its
    ``occurred_at`` and ``updated_at`` are the caller's to set)."""
    return TaskRow(
        **{name: getattr(activity, name) for name in _LOCKED_COLUMNS},
        occurred_at=None,
        updated_at=activity.created_at,
        result=None,
    )


async def publish_created(
    session: AsyncSession, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    """``task.created`` of the READY tasks just inserted with ``rows`` (``creation.create_tasks``:
    every column but the defaults), rendered from the rows and their commerces' and operators'
    names, without reading the tasks back; one insert."""
    if not rows:
        return
    references = await ActivityRepository(session, tenant_id).references(
        list({row["commerce_id"] for row in rows}),
        list({row["operator_id"] for row in rows if row["operator_id"] is not None}),
    )
    locale = await tenants.locale_of(session, tenant_id)
    new = []
    for row in rows:
        commerce = references[row["commerce_id"]]
        operator = (None, None) if row["operator_id"] is None else references[row["operator_id"]]
        task = TaskRow(
            **{name: row[name] for name in _CREATED_COLUMNS},
            occurred_at=None,
            last_dispatch_error=None,
            parent_activity_id=None,
            dispatch_attempts=0,
            commerce_external_id=commerce[0],
            commerce_name=commerce[1],
            operator_external_id=operator[0],
            operator_name=operator[1],
            result=None,
        )
        new.append(events.NewEvent(EventType.TASK_CREATED, task.id, task_document(task, locale)))
    await events.append(session, tenant_id, new)


_CREATED_COLUMNS = (
    "id",
    "origin",
    "type",
    "status",
    "channel",
    "scheduled_at",
    "created_at",
    "updated_at",
    "provider_activity_id",
    "reason",
    "idempotency_key",
)


async def publish_tasks(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    wanted: Sequence[tuple[EventType, uuid.UUID]],
) -> None:
    """:func:`task_events`, appended to the feed in one statement."""
    await events.append(session, tenant_id, await task_events(session, tenant_id, wanted))


async def publish_moves(
    session: AsyncSession, moved: Iterable[tuple[uuid.UUID, uuid.UUID]], to: ActivityStatus
) -> None:
    """The event of a move to ``to`` for each (tenant id, task id), one insert per tenant."""
    event_type = MOVES.get(to)
    if event_type is None:
        return
    by_tenant: dict[uuid.UUID, list[tuple[EventType, uuid.UUID]]] = defaultdict(list)
    for tenant_id, activity_id in moved:
        by_tenant[tenant_id].append((event_type, activity_id))
    for tenant_id in sorted(by_tenant):
        await publish_tasks(session, tenant_id, by_tenant[tenant_id])
