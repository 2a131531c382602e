"""Small typed factories that go through the services, as every surface does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities import service as activities
from taskbridge.activities.schemas import TaskCreate
from taskbridge.activities.status import Channel
from taskbridge.auth import service as auth
from taskbridge.auth.permissions import Permission
from taskbridge.commerces import service as commerces
from taskbridge.commerces.schemas import CommerceItem
from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.models import Activity, Tenant
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorItem, OperatorType
from taskbridge.result_types import service as result_types
from taskbridge.result_types.schemas import ResultTypeCreate
from taskbridge.tenants import service as tenants
from taskbridge.tenants.schemas import Locale, TenantCreate

SEED_RESULT_TYPES = [
    ("SALE_COMPLETED", "Venta completada", False),
    ("NOT_INTERESTED", "No interesado", False),
    ("RESCHEDULE", "Reprogramar visita", True),
    ("NO_CONTACT", "Sin contacto", False),
]
INTEGRATOR = (Permission.VIEW_ACTIVITIES, Permission.SUBMIT_ACTIVITY_RESULT)


async def create_tenant(session: AsyncSession, slug: str = "acme", locale: str = "es") -> Tenant:
    return await tenants.create(
        session, TenantCreate(name=slug.title(), slug=slug, locale=Locale(locale))
    )


async def create_key(
    session: AsyncSession, tenant_id: uuid.UUID, *permissions: Permission, name: str = "key"
) -> str:
    created = await auth.create_api_key(
        session, tenant_id, name=name, permissions=[str(p) for p in permissions or INTEGRATOR]
    )
    return created.plaintext


async def create_seed_result_types(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    for code, label, future in SEED_RESULT_TYPES:
        await result_types.create(
            session,
            tenant_id,
            ResultTypeCreate(code=code, label=label, requires_future_scheduled_at=future),
        )


async def create_commerce(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    external_id: str = "COM-001",
    name: str = "Almacén Don Pedro",
) -> None:
    await commerces.sync(session, tenant_id, [CommerceItem(external_id=external_id, name=name)])


async def create_operator(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str = "OP-17", name: str = "Ana Rojas"
) -> None:
    await operators.sync(
        session,
        tenant_id,
        [OperatorItem(external_id=external_id, type=OperatorType.SALESMAN, name=name)],
    )


async def create_task(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    commerce: str = "COM-001",
    operator: str | None = "OP-17",
    scheduled_at: datetime | None = None,
    channel: Channel = Channel.SALESMAN,
    provider_activity_id: str | None = None,
    reason: str = "Visita mensual",
) -> Activity:
    return await activities.create_task(
        session,
        tenant_id,
        TaskCreate(
            reason=reason,
            channel=channel,
            commerce_external_id=commerce,
            operator_external_id=operator,
            scheduled_at=scheduled_at or utcnow() + timedelta(days=1),
            idempotency_key=uuid.uuid4().hex,
            provider_activity_id=provider_activity_id,
        ),
        actor="test",
    )


@dataclass
class World:
    """A tenant with the seed result types, one commerce, one operator, one task and a key."""

    tenant: Tenant
    key: str
    task: Activity

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}


async def build_world(
    factory: async_sessionmaker[AsyncSession], slug: str = "acme", locale: str = "es"
) -> World:
    async with session_scope(factory) as session:
        tenant = await create_tenant(session, slug, locale)
        await create_seed_result_types(session, tenant.id)
        await create_commerce(session, tenant.id)
        await create_operator(session, tenant.id)
        task = await create_task(session, tenant.id)
        key = await create_key(session, tenant.id)
    return World(tenant=tenant, key=key, task=task)
