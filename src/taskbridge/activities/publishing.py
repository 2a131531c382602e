"""What activities tell the event feed: a task event carries the task as the integration API
shows it (``presenters.task_document``, in the tenant's language), read after the change."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities.presenters import task_document
from taskbridge.activities.repository import LOOKUP_CHUNK, ActivityRepository
from taskbridge.activities.status import ActivityStatus
from taskbridge.events import service as events
from taskbridge.events.schemas import EventType
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
