"""Real databases built from migrations: SQLite by default, PostgreSQL with
``TASKBRIDGE_TEST_DATABASE_URL``. Every test gets a clean database."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.migrations import upgrade
from taskbridge.models import Base

PG_URL = os.environ.get("TASKBRIDGE_TEST_DATABASE_URL")
TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]
TEST_SECRET_KEY = "test-secret-key-of-at-least-32-bytes"


def is_postgres() -> bool:
    return PG_URL is not None


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _truncate_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | str]:
    """A migrated database: an SQLite file to copy, or the PostgreSQL URL, migrated once."""
    if PG_URL is not None:
        url = Settings(database_url=PG_URL).resolved_database_url()
        asyncio.run(_reset_postgres(url))
        upgrade(Settings(database_url=PG_URL))
        yield PG_URL
        return
    folder = tmp_path_factory.mktemp("template")
    upgrade(Settings(data_dir=folder))
    yield folder / "taskbridge.db"


@pytest.fixture
def settings(migrated_template: Path | str, tmp_path: Path) -> Settings:
    """Settings on a clean database. Per-process caches are off (``cache_ttl_seconds=0``,
    ``metrics_cache_seconds=0``) so tests that change rows directly see the effect at once; the
    multi-instance tests run with the production TTL and prove changes reach every process within
    a second."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return clean_settings(migrated_template, data_dir)


def clean_settings(migrated_template: Path | str, data_dir: Path) -> Settings:
    """The ``settings`` fixture's work, for fixtures of a wider scope: a clean database (a copy
    of the SQLite template in ``data_dir``, or PostgreSQL emptied)."""
    if isinstance(migrated_template, str):
        asyncio.run(
            _truncate_postgres(Settings(database_url=migrated_template).resolved_database_url())
        )
        return Settings(
            database_url=migrated_template,
            data_dir=data_dir,
            secret_key=TEST_SECRET_KEY,
            cache_ttl_seconds=0,
            metrics_cache_seconds=0,
        )
    shutil.copy(migrated_template, data_dir / "taskbridge.db")
    return Settings(
        data_dir=data_dir, secret_key=TEST_SECRET_KEY, cache_ttl_seconds=0, metrics_cache_seconds=0
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
def session_factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    return factory


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
