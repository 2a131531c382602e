"""The transactional outbox: delivery rows written in the transaction that makes a task READY.

Imports only models and the dispatch repository, so the activities service can call it. Each
transaction that enqueues wakes dispatchers once it commits: PostgreSQL delivers a ``NOTIFY``
issued inside it, and this process's dispatchers get an in-process signal from ``after_commit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from taskbridge.dispatch.repository import DeliveryRepository, DispatchConfigRepository
from taskbridge.dispatch.schemas import DeliveryStatus
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


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(ENQUEUED, None)


async def announce(session: AsyncSession) -> None:
    """Make this transaction wake the dispatchers when (and only if) it commits."""
    if session.info.get(ENQUEUED):
        return
    session.info[ENQUEUED] = True
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))


async def enqueue(session: AsyncSession, activity: Activity, config: DispatchConfig) -> Delivery:
    """A pending delivery of ``activity`` to ``config``, due now.

    Not flushed here: the insert rides on the transaction's next flush (at the latest, its commit),
    which saves task creation a round of the unit of work.
    """
    delivery = Delivery(
        id=uuid.uuid4(),
        activity_id=activity.id,
        config_id=config.id,
        event_type=TASK_CREATED,
        status=str(DeliveryStatus.PENDING),
        attempts=0,
        next_attempt_at=utcnow(),
    )
    DeliveryRepository(session, activity.tenant_id).add(delivery)
    await announce(session)
    return delivery


async def enqueue_if_configured(session: AsyncSession, activity: Activity) -> Delivery | None:
    """Queue ``activity`` for push when its tenant has an active config for its channel."""
    config = await DispatchConfigRepository(session, activity.tenant_id).active_for_channel(
        activity.channel
    )
    if config is None:
        return None
    return await enqueue(session, activity, config)
