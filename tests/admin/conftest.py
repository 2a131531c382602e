"""Fixtures for the admin REST API: a seeded tenant and a key holding every permission."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.db import session_scope
from taskbridge.models import EventEndpoint
from tests.factories import World, build_world, create_key


@dataclass
class Admin:
    """The ``acme`` world of ``build_world`` plus an all-permissions key."""

    world: World
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.world.tenant.id


async def key_headers(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, *permissions: Permission
) -> dict[str, str]:
    """Headers of a fresh key of ``tenant_id`` holding exactly ``permissions``."""
    async with session_scope(factory) as session:
        key = await create_key(session, tenant_id, *permissions, name="scoped")
    return {"x-api-key": key}


@pytest.fixture
async def admin(session_factory: async_sessionmaker[AsyncSession]) -> Admin:
    world = await build_world(session_factory)
    async with session_scope(session_factory) as session:
        key = await create_key(session, world.tenant.id, *TENANT_KEY_PERMISSIONS, name="admin")
    return Admin(world=world, key=key)


@pytest.fixture
async def path_ids(
    session_factory: async_sessionmaker[AsyncSession], admin: Admin
) -> dict[str, str]:
    """Ids of the admin's tenant for routes whose lists sit under a path parameter (an event
    endpoint's deliveries): ``route.path.format(**path_ids)`` is a path that answers 200."""
    endpoint = EventEndpoint(
        id=uuid.uuid4(),
        tenant_id=admin.tenant_id,
        url="https://hooks.example.com/taskbridge",
        event_types=[],
        signing_secret_sealed="never opened here",
    )
    async with session_scope(session_factory) as session:
        session.add(endpoint)
    return {"endpoint_id": str(endpoint.id)}
