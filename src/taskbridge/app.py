"""``create_app(settings)``: the ASGI application."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from taskbridge import __version__
from taskbridge.activities.schemas import TaskFilters
from taskbridge.api import API_ROUTERS
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.config import Settings, get_settings
from taskbridge.db import create_engine, create_session_factory
from taskbridge.dispatch.metrics import router as metrics_router
from taskbridge.dispatch.sender import Network
from taskbridge.dispatch.worker import dispatcher_in_background
from taskbridge.errors import install_error_handlers
from taskbridge.integration.configs import ConfigsFastPath
from taskbridge.kit.body import add_documented_bodies
from taskbridge.kit.body_limit import BodySizeLimit
from taskbridge.kit.cache import LargeCountCache, TtlCache
from taskbridge.kit.logging import configure_logging
from taskbridge.result_types.service import Catalogue
from taskbridge.web.app import create_panel

DESCRIPTION = """\
Task activities for field and call-center teams. Integrators read the tenant's result types,
pull (or receive) tasks, and report back how each went with a result **code**.

Authenticate with the `x-api-key` header. Request bodies are snake_case, responses camelCase;
every error has the body `{"statusCode", "error", "message"}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    engine = create_engine(settings)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with dispatcher_in_background(
            settings, application.state.session_factory, application.state.dispatch_network
        ):
            # Everything built so far lives as long as the process: moved out of the collector's
            # sight, a full collection no longer walks ~150,000 objects (≈100 ms, every request
            # in flight stalled) but only what requests left behind.
            gc.collect()
            gc.freeze()
            yield
        await engine.dispose()

    app = FastAPI(
        title="taskbridge",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.dispatch_network = Network()
    # Keys and catalogues are read on every integration request: reloaded ahead of expiry.
    ttl, refresh_after = settings.cache_ttl_seconds, settings.cache_ttl_seconds / 2
    app.state.api_key_cache = TtlCache[str, ApiKeyPrincipal | None](
        ttl, refresh_after=refresh_after
    )
    app.state.catalogue_cache = TtlCache[uuid.UUID, Catalogue](ttl, refresh_after=refresh_after)
    app.state.task_count_cache = LargeCountCache[tuple[uuid.UUID, TaskFilters]](
        settings.cache_ttl_seconds
    )
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router)
    app.include_router(metrics_router)
    app.mount("/admin", create_panel(settings, app.state.session_factory), name="admin")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        ConfigsFastPath, keys=app.state.api_key_cache, catalogues=app.state.catalogue_cache
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = add_documented_bodies(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
