"""Prometheus metrics for the platform operator, served at ``/metrics``.

Queue depth and the age of the oldest due delivery are read from the database at scrape time, so
any process shows the whole queue; attempt counts are this process's own (a standalone
``taskbridge dispatcher`` serves its own with ``--metrics-port``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.dispatch import repository
from taskbridge.dispatch.schemas import AttemptOutcome
from taskbridge.kit.time import utcnow
from taskbridge.kit.uow import session_factory_of

ATTEMPTS = Counter(
    "taskbridge_dispatch_attempts",
    "Delivery attempts made by this process, by outcome",
    ["outcome"],
)
for _outcome in AttemptOutcome:
    ATTEMPTS.labels(outcome=str(_outcome))
QUEUE_DEPTH = Gauge(
    "taskbridge_dispatch_queue_depth", "Pending deliveries, due now or waiting for a retry"
)
OLDEST_DUE_AGE = Gauge(
    "taskbridge_dispatch_oldest_due_age_seconds",
    "How long the oldest due delivery has been waiting (0 when none is due)",
)
DELIVERY_SECONDS = Histogram(
    "taskbridge_dispatch_delivery_seconds",
    "From enqueue to a 2xx, including retries",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 120, 600, 3600, 14400),
)

router = APIRouter()


def record_attempt(outcome: AttemptOutcome) -> None:
    ATTEMPTS.labels(outcome=str(outcome)).inc()


def observe_delivered(enqueued_at: datetime, delivered_at: datetime) -> None:
    DELIVERY_SECONDS.observe(max((delivered_at - enqueued_at).total_seconds(), 0.0))


async def refresh_queue_gauges(factory: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    async with session_scope(factory) as session:
        depth, oldest_due = await repository.queue_stats(session, now)
    QUEUE_DEPTH.set(depth)
    OLDEST_DUE_AGE.set(0 if oldest_due is None else max((now - oldest_due).total_seconds(), 0))


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    await refresh_queue_gauges(session_factory_of(request))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
