"""Every statement about result types."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, func, select

from taskbridge.kit.repository import TenantRepository
from taskbridge.models import ActivityResult, ResultType


class ResultTypeRepository(TenantRepository):
    async def list(self, *, active_only: bool) -> Sequence[ResultType]:
        stmt = self.scoped(select(ResultType), ResultType)
        if active_only:
            stmt = stmt.where(ResultType.is_active.is_(True))
        stmt = stmt.order_by(ResultType.is_active.desc(), ResultType.position, ResultType.code)
        return (await self.session.scalars(stmt)).all()

    async def get(self, result_type_id: uuid.UUID) -> ResultType | None:
        stmt = self.scoped(select(ResultType), ResultType).where(ResultType.id == result_type_id)
        return await self.session.scalar(stmt)

    async def get_by_code(self, code: str) -> ResultType | None:
        stmt = self.scoped(select(ResultType), ResultType).where(ResultType.code == code)
        return await self.session.scalar(stmt)

    async def next_position(self) -> int:
        stmt = self.scoped(select(func.max(ResultType.position)), ResultType)
        current = await self.session.scalar(stmt)
        return 0 if current is None else current + 1

    async def is_used(self, code: str) -> bool:
        stmt = select(
            exists().where(ActivityResult.tenant_id == self.tenant_id, ActivityResult.code == code)
        )
        return bool(await self.session.scalar(stmt))

    def add(self, result_type: ResultType) -> None:
        result_type.tenant_id = self.tenant_id
        self.session.add(result_type)

    async def delete(self, result_type: ResultType) -> None:
        await self.session.delete(result_type)
