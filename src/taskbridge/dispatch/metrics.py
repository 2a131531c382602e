"""Dispatch's Prometheus metrics (served at ``/metrics`` by :mod:`taskbridge.metrics`).

Queue depth and the age of the oldest due delivery are read from the database, so any process
shows the whole queue: with several server processes the most recent reading is the group's.
Attempt counts are the server processes' (a standalone ``taskbridge dispatcher`` serves its own
with ``--metrics-port``).
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.dispatch import repository
from taskbridge.dispatch.schemas import AttemptOutcome
from taskbridge.kit.time import utcnow

ATTEMPTS = Counter(
    "taskbridge_dispatch_attempts",
    "Delivery attempts made by this process, by outcome",
    ["outcome"],
)
for _outcome in AttemptOutcome:
    ATTEMPTS.labels(outcome=str(_outcome))
# The same figure whichever process read it: the latest reading is the group's.
QUEUE_DEPTH = Gauge(
    "taskbridge_dispatch_queue_depth",
    "Pending deliveries, due now or waiting for a retry",
    multiprocess_mode="mostrecent",
)
OLDEST_DUE_AGE = Gauge(
    "taskbridge_dispatch_oldest_due_age_seconds",
    "How long the oldest due delivery has been waiting (0 when none is due)",
    multiprocess_mode="mostrecent",
)
DELIVERY_SECONDS = Histogram(
    "taskbridge_dispatch_delivery_seconds",
    "From enqueue to a 2xx, including retries",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 120, 600, 3600, 14400),
)


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
