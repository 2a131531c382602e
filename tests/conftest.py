"""Real databases built from migrations: SQLite by default, PostgreSQL with
``TASKBRIDGE_TEST_DATABASE_URL``. Every test gets a clean database."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from taskbridge.app import create_app
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.auth.service import load_principal
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.kit.crypto import hash_api_key, looks_like_api_key
from taskbridge.migrations import upgrade
from taskbridge.models import Base
from taskbridge.result_types.service import Catalogue, load_catalogue
from taskbridge.results.fast_transactions import close_fast_transactions

PG_URL = os.environ.get("TASKBRIDGE_TEST_DATABASE_URL")
TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]
TEST_SECRET_KEY = "test-secret-key-of-at-least-32-bytes"
ROUTE, FAST_PATH = "route", "fast path"
"""Who answers the ``client`` fixture's integration requests (``served_by``)."""


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
def session_factory(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    return factory


# The result-submission and feed suites (and on PostgreSQL the task list's) run twice,
# ``served_by`` the FastAPI route and by the fast paths in front of it (``integration.task_page``,
# ``integration.submission``), which answer only requests whose key and catalogue are fresh in the
# process caches. For the fast paths' pass, the caches are reloaded from the database before
# every request: each request sees the database as it is, as the route does with caches off.

SUBMISSION_SUITES = frozenset(
    {
        "test_submit_rules",
        "test_submit_validation",
        "test_submit_effects",
        "test_submit_race",
        "test_submit_timing",
        "test_idempotency",
        "test_feed",
        "test_submission_documents",
        "test_result_json",
    }
)
"""Run through the route and through the result route's fast path, on both databases."""
TASK_LIST_SUITES = frozenset({"test_tasks_filters", "test_tasks_pagination", "test_task_item"})
"""Run through the route and through the task list's fast path, on PostgreSQL (where it reads;
not the suites about the route's own statements, such as ``test_tasks_reads``)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    both = SUBMISSION_SUITES | (TASK_LIST_SUITES if is_postgres() else frozenset())
    if "client" in metafunc.fixturenames and module in both:
        metafunc.parametrize("served_by", [ROUTE, FAST_PATH], indirect=True)


@pytest.fixture
def served_by(request: pytest.FixtureRequest) -> str:
    """Who answers ``client``'s integration requests: the route, or the fast paths first."""
    return str(getattr(request, "param", ROUTE))


@pytest.fixture
async def app(settings: Settings, served_by: str) -> AsyncIterator[FastAPI]:
    if served_by == FAST_PATH:  # caches on, reloaded by ``client`` before every request
        settings = settings.model_copy(update={"cache_ttl_seconds": 3600.0})
    application = create_app(settings)
    yield application
    await close_fast_transactions(application)
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: FastAPI, served_by: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    hooks = {"request": [fresh_caches(app)]} if served_by == FAST_PATH else {}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", event_hooks=hooks
    ) as http:
        yield http


def fresh_caches(app: FastAPI) -> Callable[[httpx.Request], Awaitable[None]]:
    """A request hook loading the request's key and its tenant's catalogue into ``app``'s
    caches, as they are in the database now."""
    state = app.state

    async def reload(request: httpx.Request) -> None:
        state.api_key_cache.invalidate()
        state.catalogue_cache.invalidate()
        plaintext = request.headers.get("x-api-key", "")
        if not looks_like_api_key(plaintext):
            return
        digest = hash_api_key(plaintext)

        async def key() -> ApiKeyPrincipal | None:
            async with session_scope(state.session_factory) as session:
                return await load_principal(session, digest)

        principal = await state.api_key_cache.get(digest, key)
        if principal is None:
            return

        async def catalogue() -> Catalogue:
            async with session_scope(state.session_factory) as session:
                return await load_catalogue(session, principal.tenant_id)

        await state.catalogue_cache.get(principal.tenant_id, catalogue)

    return reload
