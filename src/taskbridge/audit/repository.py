"""Every statement about audit entries: append, list one tenant's, purge aged ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.kit.pagination import Cursor
from taskbridge.kit.repository import TenantRepository
from taskbridge.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def add_entry(session: AsyncSession, entry: AuditEntry) -> None:
    """Appended to the caller's transaction: it commits, or vanishes, with the change."""
    session.add(entry)


class AuditRepository(TenantRepository):
    def _filtered(self, filters: AuditFilters) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [AuditEntry.tenant_id == self.tenant_id]
        if filters.actor is not None:
            conditions.append(
                or_(AuditEntry.actor_id == filters.actor, AuditEntry.actor_label == filters.actor)
            )
        if filters.action is not None:
            conditions.append(AuditEntry.action == filters.action)
        if filters.target_type is not None:
            conditions.append(AuditEntry.target_type == filters.target_type)
        if filters.target_id is not None:
            conditions.append(AuditEntry.target_id == filters.target_id)
        if filters.since is not None:
            conditions.append(AuditEntry.occurred_at >= filters.since)
        if filters.until is not None:
            conditions.append(AuditEntry.occurred_at < filters.until)
        return conditions

    async def list(
        self, filters: AuditFilters, *, after: Cursor | None, limit: int
    ) -> Sequence[AuditEntry]:
        """Newest first, after ``after`` (a keyset position), at most ``limit`` rows."""
        stmt = select(AuditEntry).where(*self._filtered(filters))
        if after is not None:
            stmt = stmt.where(
                tuple_(AuditEntry.occurred_at, AuditEntry.id) < tuple_(after.at, after.id)
            )
        stmt = stmt.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).limit(limit)
        return (await self.session.scalars(stmt)).all()

    async def count(self, filters: AuditFilters) -> int:
        stmt = select(func.count()).select_from(AuditEntry).where(*self._filtered(filters))
        return int(await self.session.scalar(stmt) or 0)
