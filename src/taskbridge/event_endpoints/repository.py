"""Every statement about event endpoints, their deliveries and attempts.

Tenant repositories serve the admin surfaces; the module functions below them are the relay's and
the dispatcher's cross-tenant statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.dispatch.schemas import DeliveryStatus
from taskbridge.events.repository import STABLE_HORIZON, EventRow
from taskbridge.kit.model import table_of
from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Event, EventDelivery, EventDeliveryAttempt, EventEndpoint

PENDING = str(DeliveryStatus.PENDING)
CANCELED = str(DeliveryStatus.CANCELED)

events = table_of(Event)
_EVENT_COLUMNS = tuple(events.c[name] for name in EventRow._fields)

Position = tuple[int, int]
"""A feed position: (txid, id)."""


def _after(position: Position) -> ColumnElement[bool]:
    txid, event_id = position
    return or_(Event.txid > txid, and_(Event.txid == txid, Event.id > event_id))


def _at_or_before(position: Position) -> ColumnElement[bool]:
    txid, event_id = position
    return or_(Event.txid < txid, and_(Event.txid == txid, Event.id <= event_id))


def _of_types(types: Sequence[str]) -> ColumnElement[bool]:
    return Event.type.in_(types) if types else true()


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery with the feed position of its event (None once the event is purged)."""

    delivery: EventDelivery
    event_txid: int | None
    event_created_at: datetime | None


def _with_event() -> Any:
    return select(EventDelivery, Event.txid, Event.created_at).outerjoin(
        Event, Event.id == EventDelivery.event_id
    )


class EndpointRepository(TenantRepository):
    async def count(self) -> int:
        stmt = self.scoped(select(func.count()).select_from(EventEndpoint), EventEndpoint)
        return int(await self.session.scalar(stmt) or 0)

    async def list(self, *, offset: int, limit: int) -> tuple[Sequence[EventEndpoint], int]:
        base = self.scoped(select(EventEndpoint), EventEndpoint)
        stmt = base.order_by(EventEndpoint.created_at, EventEndpoint.id).offset(offset)
        return (await self.session.scalars(stmt.limit(limit))).all(), await self.count()

    async def get(
        self, endpoint_id: uuid.UUID, *, for_update: bool = False
    ) -> EventEndpoint | None:
        stmt = self.scoped(select(EventEndpoint), EventEndpoint).where(
            EventEndpoint.id == endpoint_id
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    def add(self, endpoint: EventEndpoint) -> None:
        endpoint.tenant_id = self.tenant_id
        self.session.add(endpoint)

    async def delete(self, endpoint: EventEndpoint) -> None:
        await self.session.delete(endpoint)


class EventDeliveryRepository(TenantRepository):
    async def get(
        self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, *, for_update: bool = False
    ) -> DeliveryRow | None:
        stmt = _with_event().where(
            EventDelivery.tenant_id == self.tenant_id,
            EventDelivery.endpoint_id == endpoint_id,
            EventDelivery.id == delivery_id,
        )
        if for_update:
            stmt = stmt.with_for_update(of=EventDelivery)
        row = (await self.session.execute(stmt)).first()
        return None if row is None else DeliveryRow(row[0], row[1], row[2])

    async def search(
        self, endpoint_id: uuid.UUID, *, status: str | None, offset: int, limit: int
    ) -> tuple[list[DeliveryRow], int]:
        """Newest first."""
        where = [
            EventDelivery.tenant_id == self.tenant_id,
            EventDelivery.endpoint_id == endpoint_id,
        ]
        if status is not None:
            where.append(EventDelivery.status == status)
        total = await self.session.scalar(
            select(func.count()).select_from(EventDelivery).where(*where)
        )
        stmt = (
            _with_event()
            .where(*where)
            .order_by(EventDelivery.created_at.desc(), EventDelivery.event_id.desc())
            .offset(offset)
            .limit(limit)
        )
        rows = [DeliveryRow(d, t, c) for d, t, c in (await self.session.execute(stmt)).all()]
        return rows, int(total or 0)

    async def attempts_of(
        self, delivery_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[EventDeliveryAttempt]]:
        """Each delivery's attempts, oldest first."""
        found: dict[uuid.UUID, list[EventDeliveryAttempt]] = {i: [] for i in delivery_ids}
        if not delivery_ids:
            return found
        stmt = (
            self.scoped(select(EventDeliveryAttempt), EventDeliveryAttempt)
            .where(EventDeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(EventDeliveryAttempt.attempted_at, EventDeliveryAttempt.id)
        )
        for attempt in await self.session.scalars(stmt):
            found[attempt.delivery_id].append(attempt)
        return found

    async def requeue_since(self, endpoint: EventEndpoint, since: datetime, now: datetime) -> int:
        """Queue every kept event since ``since`` that the relay has already passed (at or
        before the endpoint's cursor), of the endpoint's types: closed deliveries are sent
        again (same ``webhook-id``), missing ones created. Events after the cursor are the
        relay's. How many deliveries were queued."""
        cursor = (endpoint.cursor_txid, endpoint.cursor_id)
        chosen = and_(
            Event.tenant_id == self.tenant_id,
            Event.created_at >= since,
            _at_or_before(cursor),
            _of_types(endpoint.event_types),
        )
        reopened = await self.session.execute(
            update(EventDelivery)
            .where(
                EventDelivery.endpoint_id == endpoint.id,
                EventDelivery.status != PENDING,
                EventDelivery.event_id.in_(select(Event.id).where(chosen)),
            )
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                delivered_at=None,
                claimed_until=None,
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )
        rows = (
            await self.session.execute(
                select(Event.id, Event.type).where(
                    chosen,
                    ~select(EventDelivery.id)
                    .where(
                        EventDelivery.endpoint_id == endpoint.id,
                        EventDelivery.event_id == Event.id,
                    )
                    .exists(),
                )
            )
        ).all()
        await insert_deliveries(
            self.session, endpoint, [(event_id, event_type) for event_id, event_type in rows], now
        )
        return int(getattr(reopened, "rowcount", 0) or 0) + len(rows)

    async def cancel_pending(self, endpoint_id: uuid.UUID, reason: str) -> int:
        stmt = (
            update(EventDelivery)
            .where(
                EventDelivery.tenant_id == self.tenant_id,
                EventDelivery.endpoint_id == endpoint_id,
                EventDelivery.status == PENDING,
            )
            .values(status=CANCELED, last_error=reason, claimed_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    def add(self, row: EventDeliveryAttempt) -> None:
        row.tenant_id = self.tenant_id
        self.session.add(row)


async def feed_head(session: AsyncSession, tenant_id: uuid.UUID) -> Position:
    """Where a new (or re-enabled) endpoint starts: after every event that can no longer be
    preceded by another. PostgreSQL: (oldest running transaction, 0), since every transaction
    below it has finished; SQLite (one writer at a time, ids in commit order): the last id."""
    if session.get_bind().dialect.name == "postgresql":
        return int(await session.scalar(select(STABLE_HORIZON)) or 0), 0
    last = await session.scalar(select(func.max(Event.id)).where(Event.tenant_id == tenant_id))
    return 0, int(last or 0)


async def insert_deliveries(
    session: AsyncSession,
    endpoint: EventEndpoint,
    found: Sequence[tuple[int, str]],
    now: datetime,
) -> None:
    """One pending delivery, due ``now``, per (event id, type), in one executemany."""
    if not found:
        return
    rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": endpoint.tenant_id,
            "endpoint_id": endpoint.id,
            "event_id": event_id,
            "event_type": event_type,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event_id, event_type in found
    ]
    await session.execute(insert(table_of(EventDelivery)), rows)


async def lock_enabled_endpoints(
    session: AsyncSession, after: uuid.UUID | None, limit: int
) -> list[EventEndpoint]:
    """Unscoped: the next enabled endpoints by id after ``after``, locked; on PostgreSQL those
    another relay holds are skipped (``SKIP LOCKED``), so two dispatchers never fan the same
    endpoint out at once. SQLite serialises the whole transaction instead (``BEGIN
    IMMEDIATE``)."""
    stmt = select(EventEndpoint).where(EventEndpoint.enabled.is_(True))
    if after is not None:
        stmt = stmt.where(EventEndpoint.id > after)
    stmt = stmt.order_by(EventEndpoint.id).limit(limit).with_for_update(skip_locked=True)
    return list((await session.scalars(stmt)).all())


async def events_after(
    session: AsyncSession, endpoint: EventEndpoint, limit: int, *, stable_only: bool
) -> list[tuple[int, int, str]]:
    """The endpoint's tenant's next events after its cursor, in feed order (the feed's own read:
    ``EventRepository.read``'s conditions): (txid, id, type). Every type: the cursor moves past
    the events the endpoint does not take too."""
    stmt = select(Event.txid, Event.id, Event.type).where(
        Event.tenant_id == endpoint.tenant_id,
        _after((endpoint.cursor_txid, endpoint.cursor_id)),
    )
    if stable_only:
        stmt = stmt.where(Event.txid < STABLE_HORIZON)
    stmt = stmt.order_by(Event.txid, Event.id).limit(limit)
    return [(t, i, ty) for t, i, ty in (await session.execute(stmt)).all()]


@dataclass(frozen=True, slots=True)
class ClaimedEventDelivery:
    delivery: EventDelivery
    endpoint: EventEndpoint | None
    event: EventRow | None


async def claim_due(
    session: AsyncSession, *, worker_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[uuid.UUID]:
    """Unscoped: lease up to ``limit`` due event deliveries (as the task deliveries' claim)."""
    due = (
        select(EventDelivery.id)
        .where(
            EventDelivery.status == PENDING,
            EventDelivery.next_attempt_at <= now,
            or_(EventDelivery.claimed_until.is_(None), EventDelivery.claimed_until <= now),
        )
        .order_by(EventDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(EventDelivery)
        .where(EventDelivery.id.in_(due.scalar_subquery()))
        .values(claimed_until=lease_until, claimed_by=worker_id)
        .returning(EventDelivery.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.scalars(stmt)).all())


async def load_claimed(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> list[ClaimedEventDelivery]:
    """Unscoped: the claimed deliveries with their endpoint and their event."""
    stmt = (
        select(EventDelivery, EventEndpoint, *_EVENT_COLUMNS)
        .outerjoin(EventEndpoint, EventEndpoint.id == EventDelivery.endpoint_id)
        .outerjoin(events, events.c.id == EventDelivery.event_id)
        .where(EventDelivery.id.in_(ids))
        .order_by(EventDelivery.next_attempt_at)
    )
    claimed = []
    for row in (await session.execute(stmt)).all():
        delivery, endpoint, *event = row
        found = None if event[0] is None else EventRow._make(event)
        claimed.append(ClaimedEventDelivery(delivery, endpoint, found))
    return claimed


async def lock_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> EventEndpoint | None:
    stmt = select(EventEndpoint).where(EventEndpoint.id == endpoint_id).with_for_update()
    return await session.scalar(stmt)


async def end_failure_streak(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    """Unscoped: a success clears ``failing_since``; no write (no row lock) when it is clear."""
    await session.execute(
        update(EventEndpoint)
        .where(EventEndpoint.id == endpoint_id, EventEndpoint.failing_since.is_not(None))
        .values(failing_since=None)
        .execution_options(synchronize_session=False)
    )


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> EventDelivery | None:
    stmt = select(EventDelivery).where(EventDelivery.id == delivery_id).with_for_update()
    return await session.scalar(stmt)


async def release_claims(session: AsyncSession, worker_id: str) -> int:
    """Unscoped: give back every pending event delivery ``worker_id`` holds."""
    stmt = (
        update(EventDelivery)
        .where(EventDelivery.claimed_by == worker_id, EventDelivery.status == PENDING)
        .values(claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
