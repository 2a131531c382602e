"""``/metrics``: Prometheus' scrape, for the operator only.

Who may scrape: with ``TASKBRIDGE_METRICS_TOKEN`` set, whoever sends ``Authorization: Bearer
<token>`` (401 in the contract body otherwise, from loopback too); without it, clients on this
machine only (403 otherwise), so a local Prometheus agent works out of the box and nothing is
exposed to the network. The client is the address uvicorn reports: behind a proxy named in
``TASKBRIDGE_FORWARDED_ALLOW_IPS`` the forwarded one; but behind a proxy on this machine that is
*not* named, every request would look local. So a request carrying forwarding headers is never
taken for a local one: a proxy forwarded it, from wherever (adding such a header can only get a
client refused).

What a scrape costs: the dispatch queue's depth and age come from the database, read at most once
per ``TASKBRIDGE_METRICS_CACHE_SECONDS`` per process however many scrapes arrive (concurrent ones
share the read); the rest is in memory (or in the multiprocess files, see
:mod:`taskbridge.kit.metrics`). While the database cannot answer, the scrape still answers, with
the queue figures last read.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from taskbridge.dispatch.metrics import refresh_queue_gauges
from taskbridge.errors import Forbidden, Unauthorized
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.crypto import same_secret
from taskbridge.kit.metrics import exposition, is_loopback, record_pool, watch_pool
from taskbridge.kit.outage import database_trouble

log = structlog.get_logger(__name__)
router = APIRouter()

TOKEN_REQUIRED = "A valid bearer token (TASKBRIDGE_METRICS_TOKEN) is required"
LOOPBACK_ONLY = (
    "Metrics are served to this machine's clients only while TASKBRIDGE_METRICS_TOKEN is unset"
)
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded")
"""Their presence says a proxy passed the request on: its client is not this machine."""
QueueGaugesCache = TtlCache[None, None]
"""When the queue gauges were last read (one entry): the cache of their database read."""


class MetricsUnauthorized(Unauthorized):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": 'Bearer realm="metrics"'}


def install_metrics(app: FastAPI, settings: Settings, engine: AsyncEngine) -> None:
    """The ``/metrics`` route and what it reads; the HTTP middleware is placed by ``create_app``
    (its position decides which answers it sees)."""
    app.state.queue_gauges = QueueGaugesCache(settings.metrics_cache_seconds)
    watch_pool(engine)
    app.include_router(router)


def check_scraper(request: Request, token: SecretStr | None) -> None:
    """The token when one is set (compared in constant time), else a loopback client."""
    if token is None:
        forwarded = any(name in request.headers for name in FORWARDING_HEADERS)
        if forwarded or not is_loopback(request.client):
            raise Forbidden(LOOPBACK_ONLY)
        return
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not same_secret(sent.strip(), token.get_secret_value()):
        raise MetricsUnauthorized(TOKEN_REQUIRED)


async def refresh_queue(cache: QueueGaugesCache, factory: async_sessionmaker[AsyncSession]) -> None:
    """The queue gauges, read from the database unless read less than the cache's TTL ago."""

    async def load() -> None:
        try:
            await refresh_queue_gauges(factory)
        except Exception as exc:
            # A failed read is cached too: an outage is not asked again on every scrape.
            if database_trouble(exc) is None:
                raise
            log.warning("metrics_queue_unreadable", trouble=str(database_trouble(exc)))

    await cache.get(None, load)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    state = request.app.state
    check_scraper(request, state.settings.metrics_token)
    await refresh_queue(state.queue_gauges, state.session_factory)
    record_pool(state.engine)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
