"""Fixtures for the integration contract: a seeded tenant, a second tenant, an HTTP client each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.results.fast_transactions import close_fast_transactions
from tests.factories import World, build_world


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    """Tenant ``acme`` (es): seed result types, COM-001, OP-17, one task, an integrator key."""
    return await build_world(session_factory)


@pytest.fixture
async def other_world(session_factory: async_sessionmaker[AsyncSession], world: World) -> World:
    """A second tenant built the same way, to prove nothing crosses between tenants."""
    return await build_world(session_factory, slug="globex")


@pytest.fixture
async def cached_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another process's app on the same database, caching with the production TTL."""
    production_ttl = Settings.model_fields["cache_ttl_seconds"].default
    assert production_ttl > 0
    application = create_app(settings.model_copy(update={"cache_ttl_seconds": production_ttl}))
    yield application
    await close_fast_transactions(application)
    await application.state.engine.dispose()


@pytest.fixture
async def cached_client(cached_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=cached_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
