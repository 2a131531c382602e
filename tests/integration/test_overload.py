"""When no database connection comes free in time the client gets a 503 to retry, not a 500."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.app import create_app
from taskbridge.config import Settings
from tests.error_bodies import ErrorBody
from tests.factories import build_world
from tests.integration.support import TASKS


async def test_an_exhausted_pool_is_a_503_with_retry_after(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"db_pool_size": 1, "db_pool_timeout": 0.2}))
    factory: async_sessionmaker[AsyncSession] = app.state.session_factory
    world = await build_world(factory)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
            app.state.engine.connect(),  # holds the only connection
        ):
            response = await client.get(TASKS, headers=world.headers)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json() == ErrorBody(
            {
                "statusCode": 503,
                "error": "Service Unavailable",
                "message": "Service temporarily overloaded; retry shortly",
            }
        )
    finally:
        await app.state.engine.dispose()
