"""The delivery log, redelivery, and force (re)dispatch of a task."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import service as activities
from taskbridge.activities.status import ActivityStatus
from taskbridge.audit import service as audit
from taskbridge.dispatch import outbox
from taskbridge.dispatch.repository import DeliveryRepository, DispatchConfigRepository
from taskbridge.dispatch.schemas import DeliveryStatus
from taskbridge.errors import Conflict, NotFound
from taskbridge.kit.time import utcnow
from taskbridge.models import Activity, Delivery, DeliveryAttempt

CLOSED_ACTIVITY = frozenset({ActivityStatus.COMPLETED, ActivityStatus.CANCELED})


@dataclass(frozen=True, slots=True)
class DeliveryLog:
    deliveries: Sequence[Delivery]
    attempts: dict[uuid.UUID, list[DeliveryAttempt]]
    total: int


async def list_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    activity_id: uuid.UUID | None,
    status: DeliveryStatus | None,
    offset: int,
    limit: int,
) -> DeliveryLog:
    """Deliveries, newest first, each with every attempt."""
    repo = DeliveryRepository(session, tenant_id)
    rows, total = await repo.search(
        activity_id=activity_id,
        status=None if status is None else str(status),
        offset=offset,
        limit=limit,
    )
    attempts = await repo.attempts_of([d.id for d in rows])
    return DeliveryLog(deliveries=rows, attempts=attempts, total=total)


async def attempts_of(
    session: AsyncSession, tenant_id: uuid.UUID, delivery: Delivery
) -> list[DeliveryAttempt]:
    return (await DeliveryRepository(session, tenant_id).attempts_of([delivery.id]))[delivery.id]


async def _lock_activity(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID
) -> Activity:
    return await activities.lock_for_result(
        session, tenant_id, activity_id=activity_id, provider_activity_id=None
    )


async def _reopen_failed(
    session: AsyncSession, activity: Activity, *, actor: str, why: str
) -> None:
    """FAILED → READY, so the next successful delivery can make the task DISPATCHED."""
    if activity.status == ActivityStatus.FAILED:
        await activities.transition(
            session, activity, ActivityStatus.READY, actor=actor, reason=why
        )
        activity.last_dispatch_error = None


def _due_now(delivery: Delivery, now: datetime) -> None:
    if delivery.claimed_until is not None and delivery.claimed_until > now:
        raise Conflict(f"Delivery '{delivery.id}' is being sent right now")
    delivery.next_attempt_at = now


async def redeliver(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID, *, actor: str
) -> Delivery:
    """Send a delivery again, as soon as possible, with the same ``webhook-id``."""
    now = utcnow()
    repo = DeliveryRepository(session, tenant_id)
    found = await repo.get(delivery_id)
    if found is None:
        raise NotFound(f"Delivery '{delivery_id}' not found")
    activity = await _lock_activity(session, tenant_id, found.activity_id)
    delivery = await repo.get(delivery_id, for_update=True)
    assert delivery is not None
    if activity.status in CLOSED_ACTIVITY:
        raise Conflict(f"Activity '{activity.id}' is {activity.status}; it is not sent any more")
    config = None
    if delivery.config_id is not None:
        config = await DispatchConfigRepository(session, tenant_id).get(delivery.config_id)
    if config is None or not config.is_active:
        raise Conflict(f"The dispatch config of delivery '{delivery.id}' is inactive or deleted")
    _due_now(delivery, now)
    if delivery.status != DeliveryStatus.PENDING:
        delivery.status = str(DeliveryStatus.PENDING)
        delivery.attempts = 0
        delivery.delivered_at = None
    await _reopen_failed(session, activity, actor=actor, why=f"redelivery of {delivery.id}")
    await session.flush()
    outbox.announce(session)
    after = {"activity_id": activity.id, "status": delivery.status}
    audit.record(session, tenant_id, "delivery.redelivered", "delivery", delivery.id, after=after)
    return delivery


async def force_dispatch(
    session: AsyncSession, tenant_id: uuid.UUID, activity_id: uuid.UUID, *, actor: str
) -> Delivery:
    """Push a READY or FAILED task now: FAILED → READY and a new delivery (or the pending one)."""
    activity = await _lock_activity(session, tenant_id, activity_id)
    if activity.status not in {ActivityStatus.READY, ActivityStatus.FAILED}:
        raise Conflict(
            f"Activity '{activity.id}' is {activity.status}; only READY or FAILED tasks "
            "can be dispatched"
        )
    config = await DispatchConfigRepository(session, tenant_id).active_for_channel(activity.channel)
    if config is None:
        raise Conflict(f"No active dispatch config for channel {activity.channel}")
    await _reopen_failed(session, activity, actor=actor, why="force retry of dispatch")
    after = {"channel": activity.channel, "dispatch_config_id": config.id}
    audit.record(
        session, tenant_id, "activity.dispatch_forced", "activity", activity.id, after=after
    )
    pending = await DeliveryRepository(session, tenant_id).pending_for_activity(activity.id)
    if pending is not None:
        _due_now(pending, utcnow())
        await session.flush()
        outbox.announce(session)
        return pending
    delivery = await outbox.enqueue(session, activity, config)
    await session.flush()
    return delivery
