"""``create_app(settings)``: the ASGI application."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig

from taskbridge import __version__
from taskbridge.activities.schemas import TaskFilters
from taskbridge.api import API_ROUTERS
from taskbridge.auth.dependencies import (
    API_KEY_HEADER,
    TENANT_HEADER,
    current_api_key,
    current_principal,
)
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.auth.rate_limits import EXAMPLE_REFUSAL, rate_limits_for
from taskbridge.auth.service import INVALID_KEY_MESSAGE
from taskbridge.config import Settings, get_settings
from taskbridge.db import create_engine, create_session_factory
from taskbridge.dispatch.sender import Network
from taskbridge.dispatch.worker import dispatcher_in_background
from taskbridge.errors import install_error_handlers
from taskbridge.events.wakeups import FeedSignal
from taskbridge.health import router as health_router
from taskbridge.integration.configs import ConfigsFastPath
from taskbridge.integration.submission import SubmissionFastPath
from taskbridge.integration.task_page import TaskPageFastPath
from taskbridge.kit.body import add_documented_bodies
from taskbridge.kit.body_limit import BodySizeLimit
from taskbridge.kit.cache import LargeCountCache, TtlCache
from taskbridge.kit.logging import configure_logging
from taskbridge.kit.metrics import HttpMetrics
from taskbridge.kit.openapi import Caller, Refusal, describe_operations, field_refusal, header
from taskbridge.kit.request_id import add_request_ids
from taskbridge.metrics import install_metrics
from taskbridge.result_types.service import Catalogue
from taskbridge.results.fast_transactions import close_fast_transactions, fast_transactions
from taskbridge.users.dependencies import current_session
from taskbridge.users.sessions import INVALID_TOKEN
from taskbridge.web.app import create_panel

DESCRIPTION = """\
Task activities for field and call-center teams. Integrators read the tenant's result types,
pull (or receive) tasks, and report back how each went with a result **code**.

Authenticate with the `x-api-key` header (the integration routes take nothing else); admin routes
also take a person's bearer token with `x-tenant-id`. Request bodies are snake_case, responses
camelCase; every error has the body `{"statusCode", "error", "message"}` (the `Error` schema).
Every response carries `x-request-id` (yours when you send a well-formed `X-Request-ID`), also in
an error body's `requestId`: quote it when reporting a problem.
"""


NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's native OpenTelemetry off: taskbridge's figures are its Prometheus metrics and log
lines. On, FastAPI asks the OpenTelemetry API for its global providers on every request, ≈18 % of
the configs fast path's time even with no provider configured."""


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
        await application.state.event_signal.close()
        await application.state.rate_limits.close()
        await close_fast_transactions(application)
        await engine.dispose()

    app = FastAPI(
        title="taskbridge",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.dispatch_network = Network()
    app.state.rate_limits = rate_limits_for(settings)
    app.state.event_signal = FeedSignal(settings.resolved_database_url())
    # Keys and catalogues are read on every integration request: reloaded ahead of expiry.
    ttl, refresh_after = settings.cache_ttl_seconds, settings.cache_ttl_seconds / 2
    app.state.api_key_cache = TtlCache[str, ApiKeyPrincipal | None](
        ttl, refresh_after=refresh_after
    )
    app.state.catalogue_cache = TtlCache[uuid.UUID, Catalogue](ttl, refresh_after=refresh_after)
    app.state.task_count_cache = LargeCountCache[tuple[uuid.UUID, TaskFilters]]()
    app.state.fast_transactions = fast_transactions(engine)
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router)
    install_metrics(app, settings, engine)
    app.include_router(health_router)
    app.mount(
        "/admin",
        create_panel(settings, app.state.session_factory, app.state.dispatch_network),
        name="admin",
    )
    app.add_middleware(
        SubmissionFastPath,
        engine=engine,
        transactions=app.state.fast_transactions,
        keys=app.state.api_key_cache,
        catalogues=app.state.catalogue_cache,
        limits=app.state.rate_limits,
    )
    # Outside the submission fast path, which reads its body through the limit's count.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        TaskPageFastPath,
        engine=engine,
        keys=app.state.api_key_cache,
        counts=app.state.task_count_cache,
        limits=app.state.rate_limits,
    )
    app.add_middleware(
        ConfigsFastPath,
        keys=app.state.api_key_cache,
        catalogues=app.state.catalogue_cache,
        limits=app.state.rate_limits,
    )
    # Outermost, with the HTTP metrics in the same layer: every answer is counted and carries
    # the id, the fast path's, the body limit's, the panel's and the 500s included.
    add_request_ids(app, HttpMetrics())

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            described = describe_operations(
                schema,
                app.routes,
                security_schemes=SECURITY_SCHEMES,
                error_extras=ERROR_EXTRAS,
                caller_of=documented_caller,
            )
            app.openapi_schema = add_documented_bodies(described)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": "An API key (`tb_sk_…`): its tenant and permissions are the caller's.",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "tb_at_ (signed, 15 minutes)",
        "description": "A person's access token from `POST /api/auth/login`; tenant routes also "
        f"need `{TENANT_HEADER}`.",
    },
}
ERROR_EXTRAS: dict[str, dict[str, Any]] = {
    "requiredPermission": {
        "type": "string",
        "description": "On a 403: the permission the caller lacks",
    },
    "existingActivityId": {
        "type": "string",
        "format": "uuid",
        "description": "On a 409 of task creation: the activity holding that idempotency_key "
        "or provider_activity_id",
    },
    "existingConfigId": {
        "type": "string",
        "format": "uuid",
        "description": "On a 409 of a dispatch config: the channel's active config",
    },
}
"""Every key an error adds to ``{statusCode, error, message, details}``."""

_RATE_LIMITED = Refusal(
    429,
    "The caller's or its tenant's rate limit is spent (`TASKBRIDGE_RATE_LIMIT_PER_KEY`, "
    "`_PER_TENANT`): wait `Retry-After` seconds; `RateLimit-Policy` and `RateLimit` name the limit",
    EXAMPLE_REFUSAL,
)
_API_KEY = Caller(
    ("apiKey",),
    (
        Refusal(401, "`x-api-key` is missing, unknown, revoked or expired", INVALID_KEY_MESSAGE),
        _RATE_LIMITED,
    ),
)
_BEARER = Caller(
    ("bearer",),
    (Refusal(401, "The bearer token is missing, invalid or expired", INVALID_TOKEN),),
)
_API_KEY_OR_BEARER = Caller(
    ("apiKey", "bearer"),
    (
        field_refusal(
            f"With a bearer token, `{TENANT_HEADER}` is missing or not a UUID",
            TENANT_HEADER,
            "is required with a bearer token",
        ),
        Refusal(401, "Neither a valid `x-api-key` nor a valid bearer token", INVALID_KEY_MESSAGE),
        Refusal(
            403,
            f"With a bearer token, the person is not a member of the `{TENANT_HEADER}` tenant",
            "You are not a member of this tenant",
        ),
        _RATE_LIMITED,
    ),
    headers=(
        header(
            TENANT_HEADER,
            "With a bearer token (required then): the id (UUID) of the tenant to act in. "
            "Ignored with an API key, so any value is accepted then.",
        ),
    ),
)


def documented_caller(dependency: object) -> Caller | None:
    """How the document shows an authentication dependency (None: it is not one).

    ``Authorized`` and ``RequirePermission`` wrap an authentication in a check that holds it as
    ``authenticate``, with the ``permission`` it requires.
    """
    authenticate: object = getattr(dependency, "authenticate", dependency)
    callers: dict[object, Caller] = {
        current_api_key: _API_KEY,
        current_principal: _API_KEY_OR_BEARER,
        current_session: _BEARER,
    }
    caller = callers.get(authenticate)
    permission = getattr(dependency, "permission", None)
    if caller is None or permission is None:
        return caller
    lacking = Refusal(
        403,
        f"The caller lacks the permission `{permission}` (named in `requiredPermission`)",
        "Insufficient permissions",
        {"requiredPermission": str(permission)},
    )
    return replace(caller, refusals=(lacking, *caller.refusals), permission=str(permission))
