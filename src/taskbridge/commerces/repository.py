"""Every statement about commerces."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Commerce

CHUNK = 500


class CommerceRepository(TenantRepository):
    async def get(self, commerce_id: uuid.UUID) -> Commerce | None:
        stmt = self.scoped(select(Commerce), Commerce).where(Commerce.id == commerce_id)
        return await self.session.scalar(stmt)

    async def get_by_external_id(self, external_id: str) -> Commerce | None:
        stmt = self.scoped(select(Commerce), Commerce).where(Commerce.external_id == external_id)
        return await self.session.scalar(stmt)

    async def ids_by_external_id(self, external_ids: Iterable[str]) -> dict[str, uuid.UUID]:
        wanted = list(dict.fromkeys(external_ids))
        found: dict[str, uuid.UUID] = {}
        for start in range(0, len(wanted), CHUNK):
            stmt = self.scoped(select(Commerce.external_id, Commerce.id), Commerce).where(
                Commerce.external_id.in_(wanted[start : start + CHUNK])
            )
            found.update({row[0]: row[1] for row in await self.session.execute(stmt)})
        return found

    async def search(
        self, q: str | None, offset: int, limit: int
    ) -> tuple[Sequence[Commerce], int]:
        stmt = self.scoped(select(Commerce), Commerce)
        if q:
            pattern = f"%{q.lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(Commerce.name).like(pattern),
                    func.lower(Commerce.external_id).like(pattern),
                )
            )
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(
            stmt.order_by(Commerce.name, Commerce.id).offset(offset).limit(limit)
        )
        return rows.all(), int(total or 0)

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(
                insert(Commerce), [{**row, "tenant_id": self.tenant_id} for row in rows]
            )

    async def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows carry ``id``; one executemany by primary key, within this tenant."""
        if rows:
            await self.session.execute(
                update(Commerce).where(Commerce.tenant_id == self.tenant_id),
                list(rows),
                execution_options={"synchronize_session": False},
            )
