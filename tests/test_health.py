"""``/healthz`` and ``/readyz`` as a load balancer sees them, on real databases: the test one,
one a migration behind, one never migrated, a closed port, and a server that never answers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text

from taskbridge import __version__
from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.db import create_engine
from taskbridge.migrations import alembic_config, migration_heads
from tests.cli.conftest import Cli, database_env
from tests.conftest import TEST_SECRET_KEY, is_postgres

BEHIND = "The database schema is not at the migration head: run `taskbridge db upgrade`"
UNREACHABLE = "The database is unreachable"
SLOW = "The database did not answer within 1 s"
HANG_GUARD_SECONDS = 10


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app built on ``settings`` (no lifespan: no dispatcher is started)."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await app.state.engine.dispose()


def settings_on(database_url: str, data_dir: Path) -> Settings:
    data_dir.mkdir(exist_ok=True)
    return Settings(database_url=database_url, data_dir=data_dir, secret_key=TEST_SECRET_KEY)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_unready(response: httpx.Response, message: str, *secrets: str) -> None:
    """A 503 in the contract body naming the cause, with nothing a stranger could use."""
    assert response.status_code == 503, response.text
    body = response.json()
    assert {key: body.pop(key, None) for key in ("statusCode", "error", "message")} == {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": message,
    }
    assert set(body) <= {"requestId"}  # the request id every error body carries
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"
    for secret in (__version__, *migration_heads(), *secrets):
        assert secret not in response.text


async def assert_alive(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_answers_ok_and_nothing_more(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert __version__ not in response.text
    assert "server" not in response.headers


async def test_readyz_is_ready_on_a_migrated_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_a_probers_query_string_head_request_and_no_credentials_are_fine(
    client: httpx.AsyncClient, path: str
) -> None:
    """The API refuses parameters it does not read; a balancer adding ``?x`` is not the API."""
    with_query = await client.get(path, params={"x": "1", "probe": "lb-7"})
    head = await client.head(path)

    assert with_query.status_code == 200, with_query.text
    assert head.status_code == 200
    assert head.content == b""


async def test_neither_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert "/healthz" not in paths
    assert "/readyz" not in paths


async def test_readyz_says_the_schema_is_behind_until_db_upgrade_runs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    config = alembic_config(settings)
    await asyncio.to_thread(command.downgrade, config, "-1")
    try:
        behind = await client.get("/readyz")
        alive = await client.get("/healthz")
    finally:
        # What the message says to do, through the real command (it restores the shared
        # PostgreSQL test database for the tests that follow).
        await Cli(env=database_env(settings)).ok("db", "upgrade")

    assert_unready(behind, BEHIND)
    assert alive.status_code == 200
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_says_the_schema_is_behind_on_a_database_never_migrated(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty"
    async with served(settings_on(f"sqlite:///{empty / 'taskbridge.db'}", empty)) as http:
        assert_unready(await http.get("/readyz"), BEHIND, str(empty))
        await assert_alive(http)


async def test_readyz_says_unreachable_for_a_closed_postgresql_port(tmp_path: Path) -> None:
    port = str(closed_port())
    url = f"postgresql://taskbridge:pa55word@127.0.0.1:{port}/taskbridge"
    async with served(settings_on(url, tmp_path / "data")) as http:
        assert_unready(await http.get("/readyz"), UNREACHABLE, "127.0.0.1", port, "pa55word")
        await assert_alive(http)


async def test_readyz_says_unreachable_for_an_sqlite_file_that_cannot_be_opened(
    tmp_path: Path,
) -> None:
    """The database path names a directory: SQLite cannot open it."""
    folder = tmp_path / "data"
    (folder / "taskbridge.db").mkdir(parents=True)
    async with served(settings_on(f"sqlite:///{folder / 'taskbridge.db'}", folder)) as http:
        assert_unready(await http.get("/readyz"), UNREACHABLE, str(folder))
        await assert_alive(http)


async def test_readyz_gives_up_after_one_second_on_a_server_that_never_answers(
    tmp_path: Path,
) -> None:
    """A listener that accepts connections and never speaks, as a hung database would."""
    accepted: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = str(server.sockets[0].getsockname()[1])
    url = f"postgresql://taskbridge@127.0.0.1:{port}/taskbridge"
    try:
        async with served(settings_on(url, tmp_path / "data")) as http:
            started = time.monotonic()
            response = await asyncio.wait_for(http.get("/readyz"), HANG_GUARD_SECONDS)
            elapsed = time.monotonic() - started
            await assert_alive(http)
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()

    assert_unready(response, SLOW, "127.0.0.1", port)
    assert accepted, "the probe never connected"
    assert 1.0 <= elapsed < 3.0, elapsed


@pytest.mark.skipif(is_postgres(), reason="SQLite's write lock")
async def test_readyz_does_not_queue_behind_a_writer_on_sqlite(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A long write (a CSV import holds the lock for seconds) is not a database that is down."""
    writer = create_engine(settings)
    try:
        async with writer.connect() as connection:
            await connection.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock
            response = await asyncio.wait_for(client.get("/readyz"), HANG_GUARD_SECONDS)
            await connection.rollback()
    finally:
        await writer.dispose()

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}
