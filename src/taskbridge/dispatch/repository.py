"""Every statement about dispatch configs, deliveries and attempts.

Tenant repositories serve the admin surfaces; the plainly named module functions below them are the
dispatcher's cross-tenant statements (claiming, loading, releasing, queue statistics).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.dispatch.schemas import DeliveryStatus
from taskbridge.kit.model import table_of
from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Delivery, DeliveryAttempt, DispatchConfig, Tenant

PENDING = str(DeliveryStatus.PENDING)


class DispatchConfigRepository(TenantRepository):
    async def list(self, *, offset: int, limit: int) -> tuple[Sequence[DispatchConfig], int]:
        base = self.scoped(select(DispatchConfig), DispatchConfig)
        total = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        stmt = base.order_by(DispatchConfig.created_at, DispatchConfig.id).offset(offset)
        return (await self.session.scalars(stmt.limit(limit))).all(), int(total or 0)

    async def get(self, config_id: uuid.UUID, *, for_update: bool = False) -> DispatchConfig | None:
        stmt = self.scoped(select(DispatchConfig), DispatchConfig).where(
            DispatchConfig.id == config_id
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def active_for_channel(self, channel: str) -> DispatchConfig | None:
        stmt = self.scoped(select(DispatchConfig), DispatchConfig).where(
            DispatchConfig.channel == channel, DispatchConfig.is_active.is_(True)
        )
        return await self.session.scalar(stmt)

    def add(self, config: DispatchConfig) -> None:
        config.tenant_id = self.tenant_id
        self.session.add(config)

    async def delete(self, config: DispatchConfig) -> None:
        await self.session.delete(config)


class DeliveryRepository(TenantRepository):
    async def get(self, delivery_id: uuid.UUID, *, for_update: bool = False) -> Delivery | None:
        stmt = self.scoped(select(Delivery), Delivery).where(Delivery.id == delivery_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def search(
        self,
        *,
        activity_id: uuid.UUID | None,
        status: str | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Delivery], int]:
        """Newest first."""
        base = self.scoped(select(Delivery), Delivery)
        if activity_id is not None:
            base = base.where(Delivery.activity_id == activity_id)
        if status is not None:
            base = base.where(Delivery.status == status)
        total = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        stmt = base.order_by(Delivery.created_at.desc(), Delivery.id.desc()).offset(offset)
        return (await self.session.scalars(stmt.limit(limit))).all(), int(total or 0)

    async def attempts_of(
        self, delivery_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[DeliveryAttempt]]:
        """Each delivery's attempts, oldest first."""
        found: dict[uuid.UUID, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
        if not delivery_ids:
            return found
        stmt = (
            self.scoped(select(DeliveryAttempt), DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(DeliveryAttempt.attempted_at, DeliveryAttempt.id)
        )
        for attempt in await self.session.scalars(stmt):
            found[attempt.delivery_id].append(attempt)
        return found

    async def pending_for_activity(self, activity_id: uuid.UUID) -> Delivery | None:
        stmt = (
            self.scoped(select(Delivery), Delivery)
            .where(Delivery.activity_id == activity_id, Delivery.status == PENDING)
            .with_for_update()
        )
        return await self.session.scalar(stmt)

    async def cancel_pending_of_config(self, config_id: uuid.UUID, reason: str) -> int:
        """Cancel the config's pending deliveries; their activities stay READY (pull mode)."""
        stmt = (
            update(Delivery)
            .where(
                Delivery.tenant_id == self.tenant_id,
                Delivery.config_id == config_id,
                Delivery.status == PENDING,
            )
            .values(
                status=str(DeliveryStatus.CANCELED),
                last_error=reason,
                claimed_until=None,
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    def add(self, *rows: Delivery | DeliveryAttempt) -> None:
        for row in rows:
            row.tenant_id = self.tenant_id
            self.session.add(row)

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """New deliveries in one executemany (no ORM unit of work)."""
        if rows:
            await self.session.execute(
                insert(table_of(Delivery)), [{**row, "tenant_id": self.tenant_id} for row in rows]
            )


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this dispatcher holds the lease on, with what sending it needs."""

    delivery: Delivery
    config: DispatchConfig | None
    locale: str


async def claim_due_deliveries(
    session: AsyncSession, *, worker_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[uuid.UUID]:
    """Unscoped: lease up to ``limit`` due deliveries to ``worker_id``.

    PostgreSQL skips rows another dispatcher is claiming (``FOR UPDATE SKIP LOCKED``); SQLite runs
    every transaction as ``BEGIN IMMEDIATE``, so claims are serialised. A lease whose holder died
    expires at ``claimed_until`` and the row becomes claimable again.
    """
    due = (
        select(Delivery.id)
        .where(
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now),
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(claimed_until=lease_until, claimed_by=worker_id)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.scalars(stmt)).all())


async def load_claimed(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[ClaimedDelivery]:
    """Unscoped: the claimed deliveries with their config and their tenant's locale."""
    stmt = (
        select(Delivery, DispatchConfig, Tenant.locale)
        .join(Tenant, Tenant.id == Delivery.tenant_id)
        .outerjoin(DispatchConfig, DispatchConfig.id == Delivery.config_id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.next_attempt_at)
    )
    return [
        ClaimedDelivery(delivery=d, config=c, locale=locale)
        for d, c, locale in (await session.execute(stmt)).all()
    ]


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    """Unscoped: one delivery, locked, for recording what happened to it."""
    stmt = select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    return await session.scalar(stmt)


async def lock_deliveries(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Delivery]:
    """Unscoped: deliveries locked in id order, for recording a batch of attempts."""
    stmt = (
        select(Delivery)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
        .with_for_update()
    )
    return {d.id: d for d in (await session.scalars(stmt)).all()}


async def config_by_id(session: AsyncSession, config_id: uuid.UUID) -> DispatchConfig | None:
    """Unscoped: the config a delivery points at."""
    stmt = select(DispatchConfig).where(DispatchConfig.id == config_id).with_for_update()
    return await session.scalar(stmt)


async def release_claims(session: AsyncSession, worker_id: str) -> int:
    """Unscoped: give back every pending delivery ``worker_id`` holds (graceful shutdown)."""
    stmt = (
        update(Delivery)
        .where(Delivery.claimed_by == worker_id, Delivery.status == PENDING)
        .values(claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def queue_stats(session: AsyncSession, now: datetime) -> tuple[int, datetime | None]:
    """Unscoped: pending deliveries, and the ``next_attempt_at`` of the oldest one that is due."""
    depth = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == PENDING)
    )
    oldest = await session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.status == PENDING, Delivery.next_attempt_at <= now
        )
    )
    return int(depth or 0), oldest
