"""Every statement about operators."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select, tuple_, update

from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Operator

CHUNK = 500


class OperatorRepository(TenantRepository):
    async def get(self, operator_id: uuid.UUID) -> Operator | None:
        stmt = self.scoped(select(Operator), Operator).where(Operator.id == operator_id)
        return await self.session.scalar(stmt)

    async def find_by_external_id(self, external_id: str) -> Sequence[Operator]:
        stmt = self.scoped(select(Operator), Operator).where(Operator.external_id == external_id)
        return (await self.session.scalars(stmt.order_by(Operator.type))).all()

    async def ids_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
        found: dict[tuple[str, str], uuid.UUID] = {}
        for start in range(0, len(keys), CHUNK):
            stmt = self.scoped(
                select(Operator.type, Operator.external_id, Operator.id), Operator
            ).where(tuple_(Operator.type, Operator.external_id).in_(keys[start : start + CHUNK]))
            found.update({(row[0], row[1]): row[2] for row in await self.session.execute(stmt)})
        return found

    async def types_by_external_id(
        self, external_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, uuid.UUID]]]:
        """Every (type, id) of each external id, types in order (the CSV import's lookups)."""
        wanted = list(dict.fromkeys(external_ids))
        found: dict[str, list[tuple[str, uuid.UUID]]] = {}
        for start in range(0, len(wanted), CHUNK):
            stmt = self.scoped(
                select(Operator.external_id, Operator.type, Operator.id), Operator
            ).where(Operator.external_id.in_(wanted[start : start + CHUNK]))
            for external_id, type_, operator_id in await self.session.execute(
                stmt.order_by(Operator.external_id, Operator.type)
            ):
                found.setdefault(external_id, []).append((type_, operator_id))
        return found

    async def search(
        self, q: str | None, type_: str | None, offset: int, limit: int
    ) -> tuple[Sequence[Operator], int]:
        stmt = self.scoped(select(Operator), Operator)
        if type_:
            stmt = stmt.where(Operator.type == type_)
        if q:
            pattern = f"%{q.lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(Operator.name).like(pattern),
                    func.lower(Operator.external_id).like(pattern),
                )
            )
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(
            stmt.order_by(Operator.name, Operator.id).offset(offset).limit(limit)
        )
        return rows.all(), int(total or 0)

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(
                insert(Operator), [{**row, "tenant_id": self.tenant_id} for row in rows]
            )

    async def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows carry ``id``; one executemany by primary key, within this tenant."""
        if rows:
            await self.session.execute(
                update(Operator).where(Operator.tenant_id == self.tenant_id),
                list(rows),
                execution_options={"synchronize_session": False},
            )
