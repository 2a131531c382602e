"""Tenants: create, find by slug."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.errors import BadRequest, Conflict, NotFound
from taskbridge.models import Tenant
from taskbridge.tenants import repository
from taskbridge.tenants.schemas import TenantCreate


async def create(session: AsyncSession, data: TenantCreate) -> Tenant:
    try:
        ZoneInfo(data.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"unknown IANA time zone '{data.time_zone}'", field="time_zone") from None
    if await repository.get_by_slug(session, data.slug) is not None:
        raise Conflict(f"Tenant slug '{data.slug}' is already taken")
    tenant = Tenant(
        id=uuid.uuid4(),
        name=data.name,
        slug=data.slug,
        locale=str(data.locale),
        time_zone=data.time_zone,
    )
    session.add(tenant)
    await session.flush()
    return tenant


async def get_by_slug(session: AsyncSession, slug: str) -> Tenant:
    tenant = await repository.get_by_slug(session, slug)
    if tenant is None:
        raise NotFound(f"Tenant '{slug}' not found")
    return tenant


async def find_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await repository.get_by_slug(session, slug)


async def list_all(session: AsyncSession) -> Sequence[Tenant]:
    return await repository.list_all(session)


async def locale_of(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    """The tenant's language, read once per session (the identity map keeps the tenant)."""
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"Tenant '{tenant_id}' not found")
    return tenant.locale
