"""A database too busy to answer is a 503 to retry; a bug in a statement is still a 500.

On SQLite another connection (a long import, another process) can hold the write lock past the
busy timeout: the request gets a 503 with ``Retry-After`` and the contract body, the panel a page
saying to try again, and the log one line for the whole episode.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from structlog.testing import capture_logs

from taskbridge import db
from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.models import Tenant
from tests.conftest import is_postgres
from tests.error_bodies import ErrorBody
from tests.factories import World, build_world
from tests.integration.support import SUBMIT, TASKS, submission_for
from tests.users.support import PASSWORD, add_person
from tests.web.support import sign_in

BUSY = ErrorBody(
    {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": "Service temporarily overloaded; retry shortly",
    }
)


@contextmanager
def write_lock(settings: Settings) -> Iterator[None]:
    """Another connection holding SQLite's write lock, as a long import does."""
    holder = sqlite3.connect(settings.data_dir / "taskbridge.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.close()


@pytest.fixture
async def impatient_app(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FastAPI]:
    """The app with a busy timeout of 50 ms instead of 10 s (read as each connection opens)."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.mark.skipif(is_postgres(), reason="SQLite's write lock")
async def test_a_locked_database_is_a_503_to_retry_and_one_log_line(
    impatient_app: FastAPI, settings: Settings
) -> None:
    factory = impatient_app.state.session_factory
    world: World = await build_world(factory)
    admin = await add_person(factory, world.tenant.id, "ADMIN")
    transport = httpx.ASGITransport(app=impatient_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await sign_in(client, admin.email, PASSWORD)).status_code == 303
        with capture_logs() as logs:
            with write_lock(settings):
                submitted = await client.post(
                    SUBMIT, headers=world.headers, json=submission_for(world)
                )
                listed = await client.get(TASKS, headers=world.headers)
                page = await client.get("/admin/tasks", headers={"accept-language": "en"})
            retried = await client.post(SUBMIT, headers=world.headers, json=submission_for(world))

    for response in (submitted, listed):
        assert (response.status_code, response.json()) == (503, BUSY)
        assert response.headers["retry-after"] == "1"
    assert page.status_code == 503
    assert page.headers["retry-after"] == "1"
    assert page.headers["x-frame-options"] == "DENY", "the panel's own page, its headers too"
    assert "Temporarily unavailable" in page.text
    assert retried.status_code == 201, "nothing of the refused submission was stored"

    told = [entry for entry in logs if str(entry["event"]).startswith("database_")]
    assert [entry["event"] for entry in told] == [
        "database_unavailable",
        "database_available_again",
    ]
    assert told[0]["reason"] == "busy"
    assert told[1]["refused"] == 3
    assert not [entry for entry in logs if entry["log_level"] == "error"]


async def _bad_statement(request: Request) -> None:
    async with session_scope(request.app.state.session_factory) as session:
        await session.execute(text("SELECT * FROM no_such_table"))


async def _duplicate_key(request: Request) -> None:
    async with session_scope(request.app.state.session_factory) as session:
        session.add_all([Tenant(name="A", slug="same"), Tenant(name="B", slug="same")])


async def test_a_bug_in_a_statement_is_still_a_500(app: FastAPI) -> None:
    app.add_api_route("/test/bad-statement", _bad_statement)
    app.add_api_route("/test/duplicate-key", _duplicate_key)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in ("/test/bad-statement", "/test/duplicate-key"):
            with capture_logs() as logs:
                response = await client.get(path)
            assert response.status_code == 500, path
            assert response.json()["message"].startswith("Internal error (request id ")
            assert "retry-after" not in response.headers
            assert [entry["event"] for entry in logs] == ["unexpected_error"]
