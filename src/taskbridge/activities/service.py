"""Activity rules: creation, the status machine with its event log, follow-ups, queries."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import creation, publishing
from taskbridge.activities.publishing import completed_task as completed_task
from taskbridge.activities.publishing import created_follow_up as created_follow_up
from taskbridge.activities.repository import ActivityRepository, TaskReader, TaskRow
from taskbridge.activities.repository import ResultRow as ResultRow
from taskbridge.activities.schemas import TaskCreate, TaskFilters
from taskbridge.activities.status import TRANSITIONS, ActivityOrigin, ActivityStatus
from taskbridge.activities.submission_repository import LockedActivity as LockedActivity
from taskbridge.activities.submission_repository import SubmissionWrites
from taskbridge.commerces import service as commerces
from taskbridge.dispatch import outbox
from taskbridge.errors import Conflict, NotFound
from taskbridge.events.schemas import EventType
from taskbridge.kit.cache import LargeCountCache
from taskbridge.kit.pagination import Cursor
from taskbridge.models import Activity, ActivityEvent, ActivityResult
from taskbridge.operators import service as operators


@dataclass(frozen=True, slots=True)
class TaskPageResult:
    rows: list[TaskRow]
    total: int
    next_cursor: str | None


async def list_tasks(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    filters: TaskFilters,
    *,
    page: int,
    per_page: int,
    cursor: str | None,
    counts: LargeCountCache[tuple[uuid.UUID, TaskFilters]] | None = None,
) -> TaskPageResult:
    """One count and one page query, whatever the page size (``counts`` may spare the count)."""

    async def recount() -> int:  # a background refresh outlives this request's session
        async with AsyncSession(session.bind) as own:
            return await ActivityRepository(own, tenant_id).count_tasks(filters)

    reader = ActivityRepository(session, tenant_id)
    return await read_task_page(
        reader,
        tenant_id,
        filters,
        page=page,
        per_page=per_page,
        after=Cursor.decode(cursor) if cursor else None,
        counts=counts,
        recount=recount,
    )


async def read_task_page(
    reader: TaskReader,
    tenant_id: uuid.UUID,
    filters: TaskFilters,
    *,
    page: int,
    per_page: int,
    after: Cursor | None,
    counts: LargeCountCache[tuple[uuid.UUID, TaskFilters]] | None,
    recount: Callable[[], Awaitable[int]],
) -> TaskPageResult:
    """A page of tasks (after the cursor ``after``, else page ``page``) and its total, read
    through ``reader`` (the route's session, or the fast path's driver connection): the total
    first, counted by ``reader`` unless ``counts`` holds a large one (``recount`` refreshes it on
    a connection of its own), then the page.

    The two are separate statements, each consistent in itself: the page (items and
    ``next_cursor``) is one snapshot, the total another (or a cached one, see ``counts``).
    """
    load = partial(reader.count_tasks, filters)
    if counts is None:
        total = await load()
    else:
        total = await counts.count((tenant_id, filters), load, recount=recount)
    rows = await reader.list_tasks(
        filters, offset=(page - 1) * per_page, limit=per_page + 1, after=after
    )
    next_cursor = None
    if len(rows) > per_page:
        rows = rows[:per_page]
        last = rows[-1]
        next_cursor = Cursor(at=last.scheduled_at, id=last.id).encode()
    return TaskPageResult(rows=rows, total=total, next_cursor=next_cursor)


async def get_task(session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID) -> TaskRow:
    row = await ActivityRepository(session, tenant_id).get_task(activity_id)
    if row is None:
        raise NotFound(f"Task '{activity_id}' not found")
    return row


async def find_by_idempotency_key(
    session: AsyncSession, tenant_id: uuid.UUID, idempotency_key: str
) -> Activity | None:
    """The activity created with this key, if any (imports skip keys that already exist)."""
    return await ActivityRepository(session, tenant_id).get_by_idempotency_key(idempotency_key)


async def get_tasks(
    session: AsyncSession, tenant_id: uuid.UUID, activity_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, TaskRow]:
    """Several tasks in one query, by id (the ones not in this tenant are absent)."""
    rows = await ActivityRepository(session, tenant_id).get_tasks(activity_ids)
    return {row.id: row for row in rows}


async def lock_many(
    session: AsyncSession, tenant_id: uuid.UUID, activity_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Activity]:
    """Several activities locked for update, in id order (the dispatcher records batches)."""
    found = await ActivityRepository(session, tenant_id).lock_many(activity_ids)
    return {activity.id: activity for activity in found}


async def history(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID
) -> tuple[list[ActivityResult], list[ActivityEvent]]:
    repo = ActivityRepository(session, tenant_id)
    return list(await repo.results(activity_id)), list(await repo.events(activity_id))


async def lock_for_result(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    activity_id: uuid.UUID | None,
    provider_activity_id: str | None,
) -> Activity:
    """The activity a result refers to, locked against concurrent submissions (404 if absent)."""
    repo = ActivityRepository(session, tenant_id)
    if activity_id is not None:
        found = await repo.get(activity_id, for_update=True)
        missing = f"Activity '{activity_id}' not found"
    else:
        assert provider_activity_id is not None
        found = await repo.get_by_provider_id(provider_activity_id, for_update=True)
        missing = f"Activity with provider_activity_id '{provider_activity_id}' not found"
    if found is None:
        raise NotFound(missing)
    return found


def found_for_submission(
    found: LockedActivity | None,
    *,
    activity_id: uuid.UUID | None,
    provider_activity_id: str | None,
) -> LockedActivity:
    """The activity a result refers to, locked (``results.stores.SubmissionStore.lock``); 404
    if absent."""
    if found is None:
        if activity_id is not None:
            raise NotFound(f"Activity '{activity_id}' not found")
        raise NotFound(f"Activity with provider_activity_id '{provider_activity_id}' not found")
    return found


def check_completion(activity: LockedActivity, *, forced: bool) -> bool:
    """Whether a final result may complete ``activity`` (409 otherwise), as :func:`transition`
    decides; False when it is already COMPLETED (no move, no event).

    An activity is COMPLETED without a final current result when a PENDING one replaced it (with
    ``hard_override``): rule 6 lets the next final result replace that PENDING one unforced.
    """
    if activity.status == ActivityStatus.COMPLETED:
        return False
    return _check_move(
        activity.id, ActivityStatus(activity.status), ActivityStatus.COMPLETED, forced=forced
    )


def submission_writes(
    activity: LockedActivity,
    result: dict[str, Any],
    *,
    completes: bool,
    moves: bool,
    now: datetime,
    actor: str,
    reason: str,
    feed: Sequence[dict[str, Any]],
) -> SubmissionWrites:
    """What a stored result does to its locked activity: always touched; a final result
    (``completes``) also makes it COMPLETED at the result's ``occurred_at``, with a status event
    when it moved (``moves``, from :func:`check_completion`)."""
    status_event = None
    if moves:
        status_event = {
            "id": uuid.uuid4(),
            "activity_id": activity.id,
            "from_status": activity.status,
            "to_status": ActivityStatus.COMPLETED,
            "reason": reason,
            "actor": actor,
            "created_at": now,
        }
    return SubmissionWrites(
        result=result,
        activity_id=activity.id,
        completes=completes,
        occurred_at=result["occurred_at"],
        now=now,
        status_event=status_event,
        feed=feed,
    )


def _event(
    activity: Activity, to: str, actor: str, reason: str | None, from_: str | None
) -> ActivityEvent:
    return ActivityEvent(
        id=uuid.uuid4(),
        activity_id=activity.id,
        from_status=from_,
        to_status=to,
        reason=reason,
        actor=actor,
    )


async def transition(
    session: AsyncSession,
    activity: Activity,
    to: ActivityStatus,
    *,
    actor: str,
    reason: str | None = None,
    forced: bool = False,
) -> None:
    """Move along the status machine, recording the event; anything else is a 409.

    ``forced`` is a client's explicit ``hard_override``: it may complete an activity in any state.
    """
    if _move(session, activity, to, actor=actor, reason=reason, forced=forced):
        await session.flush()
        await publishing.publish_moves(session, [(activity.tenant_id, activity.id)], to)


async def transition_many(
    session: AsyncSession,
    activities: Sequence[Activity],
    to: ActivityStatus,
    *,
    actor: str,
    reason: str | None = None,
) -> None:
    """:func:`transition` for several activities with one flush (the dispatcher's batches)."""
    moved = [
        activity
        for activity in activities
        if _move(session, activity, to, actor=actor, reason=reason, forced=False)
    ]
    if moved:
        await session.flush()
        await publishing.publish_moves(session, [(a.tenant_id, a.id) for a in moved], to)


def _check_move(
    activity_id: uuid.UUID, current: ActivityStatus, to: ActivityStatus, *, forced: bool
) -> bool:
    """The status machine: a 409 for a move it does not allow; False when already in ``to``."""
    allowed = to in TRANSITIONS[current] or (forced and to == ActivityStatus.COMPLETED)
    if not allowed:
        raise Conflict(f"Activity '{activity_id}' cannot move from {current} to {to}")
    return current != to


def _move(
    session: AsyncSession,
    activity: Activity,
    to: ActivityStatus,
    *,
    actor: str,
    reason: str | None,
    forced: bool,
) -> bool:
    """The rule of :func:`transition`, without the flush; False when already in ``to``."""
    current = ActivityStatus(activity.status)
    if not _check_move(activity.id, current, to, forced=forced):
        return False
    activity.status = to
    ActivityRepository(session, activity.tenant_id).add(
        _event(activity, to, actor, reason, from_=current)
    )
    return True


async def create_task(
    session: AsyncSession, tenant_id: uuid.UUID, data: TaskCreate, *, actor: str
) -> Activity:
    """A READY task; a repeated ``idempotency_key`` is a 409 naming the existing activity."""
    repo = ActivityRepository(session, tenant_id)
    existing = await repo.get_by_idempotency_key(data.idempotency_key)
    if existing is not None:
        raise Conflict(
            f"An activity with idempotency_key '{data.idempotency_key}' already exists: "
            f"{existing.id}",
            existingActivityId=str(existing.id),
        )
    if data.provider_activity_id is not None:
        taken = await repo.get_by_provider_id(data.provider_activity_id)
        if taken is not None:
            raise creation.provider_id_taken(data.provider_activity_id, taken.id)
    commerce = await commerces.get_by_external_id(session, tenant_id, data.commerce_external_id)
    operator_id = None
    if data.operator_external_id is not None:
        operator = await operators.get_by_external_id(
            session, tenant_id, data.operator_external_id, field="operator_external_id"
        )
        operator_id = operator.id
    activity = Activity(**creation.task_columns(data, commerce.id, operator_id))
    repo.add(activity, _event(activity, ActivityStatus.READY, actor, creation.CREATED, from_=None))
    await session.flush()
    await outbox.enqueue_if_configured(session, activity)
    await publishing.publish_tasks(session, tenant_id, [(EventType.TASK_CREATED, activity.id)])
    return activity


async def create_follow_up(
    session: AsyncSession,
    parent: LockedActivity,
    *,
    scheduled_at: datetime,
    result_id: uuid.UUID,
    actor: str,
) -> Activity:
    """Same commerce, channel, operator and reason, READY at ``scheduled_at``.

    Its ``follow_up.created`` event is the caller's to publish, with the result's events.
    """
    follow_up = Activity(
        id=uuid.uuid4(),
        type=parent.type,
        channel=parent.channel,
        status=ActivityStatus.READY,
        reason=parent.reason,
        commerce_id=parent.commerce_id,
        operator_id=parent.operator_id,
        scheduled_at=scheduled_at,
        idempotency_key=f"follow-up:{result_id}",
        parent_activity_id=parent.id,
        origin=ActivityOrigin.FOLLOW_UP,
    )
    ActivityRepository(session, parent.tenant_id).add(
        follow_up,
        _event(follow_up, ActivityStatus.READY, actor, f"follow-up of {parent.id}", from_=None),
    )
    await session.flush()
    await outbox.enqueue_if_configured(session, follow_up)
    return follow_up


async def cancel(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID, *, reason: str, actor: str
) -> Activity:
    activity = await ActivityRepository(session, tenant_id).get(activity_id, for_update=True)
    if activity is None:
        raise NotFound(f"Activity '{activity_id}' not found")
    await transition(session, activity, ActivityStatus.CANCELED, actor=actor, reason=reason)
    return activity


async def cancel_unstarted_follow_up(
    session: AsyncSession, tenant_id: uuid.UUID, follow_up_id: uuid.UUID, *, actor: str
) -> None:
    """Cancel a follow-up whose originating result was replaced, unless work on it began."""
    repo = ActivityRepository(session, tenant_id)
    follow_up = await repo.get(follow_up_id, for_update=True)
    if follow_up is None or follow_up.status not in {ActivityStatus.READY, ActivityStatus.FAILED}:
        return
    if await repo.results(follow_up.id):
        return
    await transition(
        session,
        follow_up,
        ActivityStatus.CANCELED,
        actor=actor,
        reason="the result that scheduled this follow-up was replaced",
    )
