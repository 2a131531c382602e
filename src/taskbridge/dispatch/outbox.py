"""The transactional outbox: delivery rows written in the transaction that makes a task READY.

Imports only models and the dispatch repository, so the activities service can call it. Each
transaction that enqueues wakes dispatchers once it commits: this process's get an in-process
signal from ``after_commit``, and on PostgreSQL every process's get a ``NOTIFY`` sent after the
commit, outside the transaction (``kit/notify.py`` says why).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from taskbridge.dispatch.repository import DeliveryRepository, DispatchConfigRepository
from taskbridge.dispatch.schemas import DeliveryStatus
from taskbridge.kit import notify
from taskbridge.kit.time import utcnow
from taskbridge.models import Activity, Delivery, DispatchConfig

NOTIFY_CHANNEL = "taskbridge_dispatch"
TASK_CREATED = "task.created"
ENQUEUED = "taskbridge.dispatch.enqueued"
"""``session.info`` flag: this transaction wrote a delivery; wake dispatchers after it commits."""

Waker = Callable[[], None]
_wakers: set[Waker] = set()


def add_waker(waker: Waker) -> None:
    """Call ``waker`` after every commit in this process that enqueued a delivery."""
    _wakers.add(waker)


def remove_waker(waker: Waker) -> None:
    _wakers.discard(waker)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(ENQUEUED, False):
        for waker in list(_wakers):
            waker()
        notify.after_commit(session, NOTIFY_CHANNEL)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(ENQUEUED, None)


def announce(session: AsyncSession) -> None:
    """Make this transaction wake the dispatchers when (and only if) it commits."""
    session.info[ENQUEUED] = True


def _delivery_columns(activity_id: uuid.UUID, config_id: uuid.UUID) -> dict[str, Any]:
    """A pending delivery, due now: one definition for one task and for many."""
    return {
        "id": uuid.uuid4(),
        "activity_id": activity_id,
        "config_id": config_id,
        "event_type": TASK_CREATED,
        "status": str(DeliveryStatus.PENDING),
        "attempts": 0,
        "next_attempt_at": utcnow(),
    }


async def enqueue(session: AsyncSession, activity: Activity, config: DispatchConfig) -> Delivery:
    """A pending delivery of ``activity`` to ``config``, due now.

    Not flushed here: the insert rides on the transaction's next flush (at the latest, its commit),
    which saves task creation a round of the unit of work.
    """
    delivery = Delivery(**_delivery_columns(activity.id, config.id))
    DeliveryRepository(session, activity.tenant_id).add(delivery)
    announce(session)
    return delivery


async def enqueue_if_configured(session: AsyncSession, activity: Activity) -> Delivery | None:
    """Queue ``activity`` for push when its tenant has an active config for its channel."""
    config = await DispatchConfigRepository(session, activity.tenant_id).active_for_channel(
        activity.channel
    )
    if config is None:
        return None
    return await enqueue(session, activity, config)


async def enqueue_many(
    session: AsyncSession, tenant_id: uuid.UUID, activities: Sequence[tuple[uuid.UUID, str]]
) -> int:
    """:func:`enqueue_if_configured` for many new activities, given as (id, channel): one config
    lookup per channel and one insert. How many deliveries were queued."""
    configs = DispatchConfigRepository(session, tenant_id)
    config_ids: dict[str, uuid.UUID | None] = {}
    for channel in sorted({channel for _, channel in activities}):
        config = await configs.active_for_channel(channel)
        config_ids[channel] = None if config is None else config.id
    rows = [
        _delivery_columns(activity_id, config_id)
        for activity_id, channel in activities
        if (config_id := config_ids[channel]) is not None
    ]
    if rows:
        await DeliveryRepository(session, tenant_id).insert_many(rows)
        announce(session)
    return len(rows)
