"""Fixtures for the integration contract: a seeded tenant, a second tenant, an HTTP client each."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import World, build_world


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    """Tenant ``acme`` (es): seed result types, COM-001, OP-17, one task, an integrator key."""
    return await build_world(session_factory)


@pytest.fixture
async def other_world(session_factory: async_sessionmaker[AsyncSession], world: World) -> World:
    """A second tenant built the same way, to prove nothing crosses between tenants."""
    return await build_world(session_factory, slug="globex")
