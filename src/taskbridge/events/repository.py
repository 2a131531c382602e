"""Every statement about events: the insert, the feed's read, the purge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Text, and_, func, insert, or_, select

from taskbridge.kit.model import table_of
from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Event

events = table_of(Event)
_e = events.c

STABLE_HORIZON = func.cast(
    func.cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger
)
"""The oldest transaction still running when this statement's snapshot was taken: every
transaction below it has finished, so no event below it can still appear (PostgreSQL)."""


class EventRow(NamedTuple):
    id: int
    txid: int
    type: str
    subject_id: Any
    replaced: bool | None
    payload: dict[str, Any]
    created_at: datetime


_COLUMNS = tuple(_e[name] for name in EventRow._fields)


class EventRepository(TenantRepository):
    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """One statement (an executemany) for every event of the transaction's step."""
        values = [{**row, "tenant_id": self.tenant_id} for row in rows]
        await self.session.execute(insert(events), values)

    async def read(
        self,
        *,
        after: tuple[int, int] | None,
        types: Sequence[str] | None,
        limit: int,
        stable_only: bool,
    ) -> list[EventRow]:
        """The tenant's next events in (txid, id) order; with ``stable_only``, only those no
        transaction still running could be followed by an earlier one."""
        stmt = select(*_COLUMNS).where(_e.tenant_id == self.tenant_id)
        if after is not None:
            txid, event_id = after
            stmt = stmt.where(or_(_e.txid > txid, and_(_e.txid == txid, _e.id > event_id)))
        if types is not None:
            stmt = stmt.where(_e.type.in_(types))
        if stable_only:
            stmt = stmt.where(_e.txid < STABLE_HORIZON)
        stmt = stmt.order_by(_e.txid, _e.id).limit(limit)
        return [EventRow._make(row) for row in await self.session.execute(stmt)]
