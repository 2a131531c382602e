"""The retention statements: each deletes at most ``limit`` rows that have outlived their use.

``DELETE … WHERE id IN (SELECT id … LIMIT n)`` on both backends: a batch is one short statement,
and two purges running at once (several dispatchers) at worst find nothing left to delete.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.models import (
    AuditEntry,
    Delivery,
    DeliveryAttempt,
    Event,
    EventDelivery,
    IdempotencyRecord,
    LoginFailure,
)


async def _delete_some(
    session: AsyncSession, model: Any, condition: ColumnElement[bool], limit: int
) -> int:
    batch = select(model.id).where(condition).limit(limit)
    result = await session.execute(delete(model).where(model.id.in_(batch)))
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_idempotency_records(session: AsyncSession, before: datetime, limit: int) -> int:
    """Idempotency records created before ``before`` (their replay window has closed)."""
    return await _delete_some(
        session, IdempotencyRecord, IdempotencyRecord.created_at < before, limit
    )


async def delete_login_failures(session: AsyncSession, before: datetime, limit: int) -> int:
    """Failed sign-ins before ``before`` (no throttle limit counts them any more)."""
    return await _delete_some(session, LoginFailure, LoginFailure.failed_at < before, limit)


async def delete_delivery_attempts(
    session: AsyncSession, before: datetime, closed_statuses: Collection[str], limit: int
) -> int:
    """Attempts made before ``before`` whose delivery is closed (one of ``closed_statuses``)."""
    closed = exists().where(
        Delivery.id == DeliveryAttempt.delivery_id, Delivery.status.in_(closed_statuses)
    )
    return await _delete_some(
        session, DeliveryAttempt, (DeliveryAttempt.attempted_at < before) & closed, limit
    )


async def delete_audit_entries(session: AsyncSession, before: datetime, limit: int) -> int:
    """Audit entries recorded before ``before`` (past ``audit_retention_days``)."""
    return await _delete_some(session, AuditEntry, AuditEntry.occurred_at < before, limit)


async def delete_events(session: AsyncSession, before: datetime, limit: int) -> int:
    """Feed events created before ``before`` (past ``event_retention_days``, any tenant)."""
    return await _delete_some(session, Event, Event.created_at < before, limit)


async def delete_event_deliveries(
    session: AsyncSession, before: datetime, closed_statuses: Collection[str], limit: int
) -> int:
    """Closed event deliveries created before ``before`` (their attempts go with them)."""
    condition = (EventDelivery.created_at < before) & EventDelivery.status.in_(closed_statuses)
    return await _delete_some(session, EventDelivery, condition, limit)
