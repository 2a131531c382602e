"""The relay: fan the event feed out into one delivery per (endpoint, event), off the write path.

Each cycle, in ONE transaction (per 100 endpoints), every enabled endpoint is locked (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, so two dispatchers never fan the same endpoint out at once;
SQLite runs one writer at a time), the feed after the endpoint's cursor is read with the pull
feed's stable order (on PostgreSQL only events no running transaction can still precede), one
delivery is inserted per event of the endpoint's types, and the cursor moves past every event
read. Commit or roll back together: an event becomes exactly one delivery per endpoint, never
skipped, never doubled.

Runs beside each dispatcher, woken by the feed's signal (the same in-process / ``LISTEN`` wake-up
the long-polling readers use) and, failing that, every ``dispatch_poll_interval``; at most one
pass per :data:`RELAY_GAP_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from taskbridge.db import read_only_options, session_scope
from taskbridge.event_endpoints import repository
from taskbridge.events.wakeups import FeedSignal
from taskbridge.kit.outage import database_trouble, outage_of
from taskbridge.models import EventEndpoint

log = structlog.get_logger(__name__)

ENDPOINTS_PER_CYCLE = 100
EVENTS_PER_ENDPOINT = 500
RELAY_GAP_SECONDS = 0.1
"""The least time between two passes: a webhook waits at most this long more, and a server
writing hundreds of events a second runs ten passes a second, not one per commit."""


@dataclass(frozen=True, slots=True)
class Relayed:
    deliveries: int
    more: bool
    """Some endpoint read a full batch of events: relay again at once."""


@dataclass(frozen=True, slots=True)
class _Page:
    deliveries: int
    behind: bool
    last: uuid.UUID | None
    """The last endpoint locked when the page was full (the next page starts after it)."""


async def _any_enabled(factory: async_sessionmaker[AsyncSession]) -> bool:
    """A read that takes no lock (SQLite's write lock included): nothing to do, nothing held."""
    engine: AsyncEngine = factory.kw["bind"]
    async with factory(bind=engine.execution_options(**read_only_options(engine))) as session:
        found = await session.scalar(
            select(EventEndpoint.id).where(EventEndpoint.enabled.is_(True)).limit(1)
        )
        await session.commit()
    return found is not None


async def _relay_page(
    factory: async_sessionmaker[AsyncSession], now: datetime, after: uuid.UUID | None
) -> _Page:
    """One transaction over the next :data:`ENDPOINTS_PER_CYCLE` enabled endpoints."""
    created, behind = 0, False
    async with session_scope(factory) as session:
        stable_only = session.get_bind().dialect.name == "postgresql"
        endpoints = await repository.lock_enabled_endpoints(session, after, ENDPOINTS_PER_CYCLE)
        for endpoint in endpoints:
            read = await repository.events_after(
                session, endpoint, EVENTS_PER_ENDPOINT, stable_only=stable_only
            )
            if not read:
                continue
            behind = behind or len(read) == EVENTS_PER_ENDPOINT
            wanted = set(endpoint.event_types)
            chosen = [(i, kind) for _t, i, kind in read if not wanted or kind in wanted]
            await repository.insert_deliveries(session, endpoint, chosen, now)
            endpoint.cursor_txid, endpoint.cursor_id = read[-1][0], read[-1][1]
            created += len(chosen)
    full = len(endpoints) == ENDPOINTS_PER_CYCLE
    return _Page(created, behind, endpoints[-1].id if full else None)


async def relay_once(factory: async_sessionmaker[AsyncSession], now: datetime) -> Relayed:
    """One pass over every enabled endpoint (one transaction per
    :data:`ENDPOINTS_PER_CYCLE`); deliveries due ``now``."""
    if not await _any_enabled(factory):
        return Relayed(0, more=False)
    created, more, after = 0, False, None
    while True:
        page = await _relay_page(factory, now, after)
        created, more = created + page.deliveries, more or page.behind
        if page.last is None:
            return Relayed(created, more)
        after = page.last


async def relay_all(factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Relay until caught up (tests, ``drain``); the deliveries created."""
    total = 0
    while True:
        relayed = await relay_once(factory, now)
        total += relayed.deliveries
        if not relayed.more:
            return total


async def relay_until_stopped(
    settings: Settings,
    factory: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    *,
    now: Callable[[], datetime],
    created: Callable[[], None],
) -> None:
    """Relay on every feed wake-up (or poll); ``created()`` is called when deliveries were made,
    so the dispatcher claims them at once."""
    signal = FeedSignal(settings.resolved_database_url())
    failing = False
    try:
        while not stop.is_set():
            wakeup = signal.next_wakeup()  # before the read: a commit during it still wakes us
            try:
                relayed = await relay_once(factory, now())
                failing = False
            except Exception as exc:
                if not failing:
                    trouble = database_trouble(exc)
                    if trouble is None:
                        log.error("event_relay_failed", exc_info=exc)
                    else:
                        outage_of(factory).noticed(trouble, exc, task="event_relay")
                failing = True
                relayed = Relayed(0, more=False)
            if relayed.deliveries:
                created()
            if relayed.more:
                continue
            # Commits come by the hundred per second on a busy server: one pass per
            # RELAY_GAP_SECONDS at most, each relaying whatever committed meanwhile.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RELAY_GAP_SECONDS)
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
            try:
                await asyncio.wait(
                    waits, timeout=settings.dispatch_poll_interval, return_when="FIRST_COMPLETED"
                )
            finally:
                for waiting in waits:
                    waiting.cancel()
    finally:
        await signal.close()


@contextlib.asynccontextmanager
async def relaying_in_background(
    settings: Settings,
    factory: async_sessionmaker[AsyncSession],
    *,
    now: Callable[[], datetime],
    created: Callable[[], None],
) -> AsyncIterator[None]:
    """Run :func:`relay_until_stopped` for as long as the block runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        relay_until_stopped(settings, factory, stop, now=now, created=created),
        name="event-relay",
    )
    try:
        yield
    finally:
        stop.set()
        await task
