"""Purge what has outlived its use, in batches of short transactions, and do it periodically.

What goes, and when:

- idempotency records older than the replay window (``idempotency.service.RETENTION``, 24 h):
  a record that old is already ignored, and deleted lazily only when its own API key reuses it;
- failed sign-ins older than the throttle's window (``users.throttle.WINDOW``, 15 min): no limit
  counts them any more;
- delivery attempts older than ``delivery_retention_days`` (30) **of closed deliveries only**
  (delivered, failed, canceled). A pending delivery's attempts are the story of why it is still
  being retried, which an operator reads in ``GET /api/deliveries``; they go once it closes. The
  delivery rows themselves stay: a task's dispatch status and its ``webhook-id`` refer to them;
- audit log entries older than ``audit_retention_days`` (365).
- feed events older than ``event_retention_days`` (30) plus an hour's grace
  (``EVENT_PURGE_GRACE``); the feed answers 410 to a cursor older than the retention.
- closed event-webhook deliveries (delivered, failed, canceled) created more than
  ``event_retention_days`` ago, with their attempts: their events are gone by then, so they
  could not be sent again anyway. Pending ones stay until they close.

Each batch deletes at most ``batch_size`` rows in its own transaction, so on SQLite the write
lock is held for a few milliseconds at a time and requests queue behind it briefly, not for the
whole purge. The purge runs beside every dispatcher (``taskbridge dispatcher``, and ``serve``
when it runs the dispatcher in process), never in plain API workers; purges that overlap only
find less to delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch.schemas import DeliveryStatus
from taskbridge.idempotency.service import RETENTION as IDEMPOTENCY_RETENTION
from taskbridge.kit.outage import database_trouble, outage_of
from taskbridge.kit.time import utcnow
from taskbridge.retention import repository
from taskbridge.users.throttle import WINDOW as LOGIN_THROTTLE_WINDOW

log = structlog.get_logger(__name__)

BATCH_SIZE = 500
DEFAULT_AUDIT_RETENTION = timedelta(days=365)
DEFAULT_EVENT_RETENTION = timedelta(days=30)
EVENT_PURGE_GRACE = timedelta(hours=1)
"""Events are deleted this long after the feed starts answering 410 to cursors of their age:
an event's ``created_at`` may precede its position's by the length of its transaction, so an
event just after an accepted cursor is never purged from under its reader."""
PURGE_INTERVAL = timedelta(minutes=10)
CLOSED_DELIVERIES = frozenset(s.value for s in DeliveryStatus if s is not DeliveryStatus.PENDING)

DeleteBatch = Callable[[AsyncSession, int], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows of each kind one purge deleted."""

    idempotency_records: int
    login_failures: int
    delivery_attempts: int
    audit_entries: int = 0
    events: int = 0
    event_deliveries: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def _in_batches(
    factory: async_sessionmaker[AsyncSession], delete_batch: DeleteBatch, batch_size: int
) -> int:
    """Delete batch after batch, one transaction each, until a batch comes back short."""
    total = 0
    while True:
        async with session_scope(factory) as session:
            deleted = await delete_batch(session, batch_size)
        total += deleted
        if deleted < batch_size:
            return total
        await asyncio.sleep(0)  # let requests waiting on this process's loop run in between


async def purge(
    factory: async_sessionmaker[AsyncSession],
    *,
    delivery_retention: timedelta,
    audit_retention: timedelta = DEFAULT_AUDIT_RETENTION,
    event_retention: timedelta = DEFAULT_EVENT_RETENTION,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> Purged:
    """One purge of everything past its horizon, seen from ``now`` (default: the clock)."""
    at = now or utcnow()
    records_before = at - IDEMPOTENCY_RETENTION
    failures_before = at - LOGIN_THROTTLE_WINDOW
    attempts_before = at - delivery_retention
    audit_before = at - audit_retention
    events_before = at - event_retention - EVENT_PURGE_GRACE
    return Purged(
        idempotency_records=await _in_batches(
            factory,
            lambda s, n: repository.delete_idempotency_records(s, records_before, n),
            batch_size,
        ),
        login_failures=await _in_batches(
            factory,
            lambda s, n: repository.delete_login_failures(s, failures_before, n),
            batch_size,
        ),
        delivery_attempts=await _in_batches(
            factory,
            lambda s, n: repository.delete_delivery_attempts(
                s, attempts_before, CLOSED_DELIVERIES, n
            ),
            batch_size,
        ),
        audit_entries=await _in_batches(
            factory, lambda s, n: repository.delete_audit_entries(s, audit_before, n), batch_size
        ),
        events=await _in_batches(
            factory, lambda s, n: repository.delete_events(s, events_before, n), batch_size
        ),
        event_deliveries=await _in_batches(
            factory,
            lambda s, n: repository.delete_event_deliveries(
                s, at - event_retention, CLOSED_DELIVERIES, n
            ),
            batch_size,
        ),
    )


def _failed(factory: async_sessionmaker[AsyncSession], exc: Exception) -> None:
    """As the dispatcher does: a database outage is logged once per outage, anything else with
    its traceback; either way the next purge tries again."""
    trouble = database_trouble(exc)
    if trouble is None:
        log.error("retention_purge_failed", exc_info=exc)
    else:
        outage_of(factory).noticed(trouble, exc, task="retention_purge")


def delivery_retention_of(settings: Settings) -> timedelta:
    return timedelta(days=settings.delivery_retention_days)


def audit_retention_of(settings: Settings) -> timedelta:
    return timedelta(days=settings.audit_retention_days)


async def purge_until_stopped(
    settings: Settings,
    factory: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    *,
    now: Callable[[], datetime] = utcnow,
    rand: Callable[[], float] = random.random,
    interval: timedelta = PURGE_INTERVAL,
) -> None:
    """Purge every ``interval`` (±50 %, so several dispatchers drift apart), the first time one
    jittered interval after start (a restart loop never adds load); a failed purge is logged and
    tried again next time."""
    while True:
        pause = interval.total_seconds() * (0.5 + rand())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
        if stop.is_set():
            return
        try:
            purged = await purge(
                factory,
                delivery_retention=delivery_retention_of(settings),
                audit_retention=audit_retention_of(settings),
                event_retention=timedelta(days=settings.event_retention_days),
                now=now(),
            )
        except Exception as exc:
            _failed(factory, exc)
            continue
        if any(purged.as_dict().values()):
            log.info("retention_purged", **purged.as_dict())


@contextlib.asynccontextmanager
async def purging_in_background(
    settings: Settings,
    factory: async_sessionmaker[AsyncSession],
    now: Callable[[], datetime] = utcnow,
) -> AsyncIterator[None]:
    """Run :func:`purge_until_stopped` for as long as the block runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(purge_until_stopped(settings, factory, stop, now=now))
    try:
        yield
    finally:
        stop.set()
        await task
