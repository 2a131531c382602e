"""Every statement about API keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.kit.repository import TenantRepository
from taskbridge.models import ApiKey, Tenant


async def find_key_with_tenant_by_hash(
    session: AsyncSession, key_hash: str
) -> tuple[ApiKey, Tenant] | None:
    """Unscoped: the key itself names the tenant."""
    row = (
        await session.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == key_hash)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def touch_last_used(session: AsyncSession, key_id: uuid.UUID, at: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


class ApiKeyRepository(TenantRepository):
    async def list(self) -> Sequence[ApiKey]:
        stmt = self.scoped(select(ApiKey), ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)
        return (await self.session.scalars(stmt)).all()

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        stmt = self.scoped(select(ApiKey), ApiKey).where(ApiKey.id == key_id)
        return await self.session.scalar(stmt)

    def add(self, key: ApiKey) -> None:
        key.tenant_id = self.tenant_id
        self.session.add(key)
