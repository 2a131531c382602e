"""Events: appended in the causing transaction, read back in a stable order that never skips.

Ordering. On PostgreSQL each event carries its transaction's id (``txid``, assigned when the
transaction first writes, so in increasing order); a read returns only events whose ``txid`` is
below the oldest transaction still running at the read's snapshot (``pg_snapshot_xmin``), in
(``txid``, ``id``) order. Every transaction that could still add an event before the returned
ones has therefore finished: a reader that follows the cursors sees every event exactly once, in
one order for every reader. The price: a transaction left open anywhere in the cluster holds the
feed back (never loses events) until it ends. SQLite runs one writer at a time and never reuses
an id (``AUTOINCREMENT``), so there ``txid`` is 0 and id order is commit order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from taskbridge.db import read_only_options
from taskbridge.errors import BadRequest, Gone
from taskbridge.events.repository import EventRepository, EventRow
from taskbridge.events.schemas import MAX_WAIT_SECONDS, EventQuery, EventType
from taskbridge.events.wakeups import EVENTS_WRITTEN, POLL_SECONDS, FeedSignal
from taskbridge.kit.time import format_timestamp, utcnow

NOT_A_CURSOR = (
    "is not a cursor this server issued; pass meta.nextCursor (or an event's id) unchanged"
)
RESYNC = (
    "the cursor is older than the {days} days events are kept; resynchronise from the task "
    "list (GET /api/integration/activities/tasks), then read the feed again without `after`"
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: EventType
    subject_id: uuid.UUID
    data: dict[str, Any]
    replaced: bool | None = None


def rows_of(new: Sequence[NewEvent], now: datetime) -> list[dict[str, Any]]:
    """``new`` as the rows to insert (all but the tenant), in this order."""
    return [
        {
            "type": str(event.type),
            "subject_id": event.subject_id,
            "replaced": event.replaced,
            "payload": event.data,
            "created_at": now,
        }
        for event in new
    ]


def written(session: AsyncSession) -> None:
    """This transaction wrote events: wake the feed's readers once it commits."""
    session.info[EVENTS_WRITTEN] = True


async def append(session: AsyncSession, tenant_id: uuid.UUID, new: Sequence[NewEvent]) -> None:
    """Write ``new`` in this transaction, in this order, with one statement."""
    if not new:
        return
    await EventRepository(session, tenant_id).insert_many(rows_of(new, utcnow()))
    written(session)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a reader stands: just after the event (``txid``, ``id``) created at ``at``."""

    txid: int
    id: int
    at: datetime

    def encode(self) -> str:
        raw = f"{self.txid}.{self.id}.{int(self.at.timestamp() * 1000)}".encode()
        return f"{_b64(raw)}.{_check(raw)}"

    @classmethod
    def decode(cls, token: str) -> Position:
        try:
            encoded, _, check = token.partition(".")
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if not hmac.compare_digest(check, _check(raw)):
                raise ValueError("check value mismatch")
            txid, event_id, millis = (int(part) for part in raw.decode().split("."))
            return cls(txid, event_id, datetime.fromtimestamp(millis / 1000, UTC))
        except (ValueError, OverflowError, OSError):
            raise BadRequest(NOT_A_CURSOR, field="after") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _check(raw: bytes) -> str:
    return _b64(hashlib.sha256(b"taskbridge-event-cursor:" + raw).digest()[:9])


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def event_document(row: EventRow) -> dict[str, Any]:
    """An event as the feed shows it (what an event webhook's ``data`` carries)."""
    return {
        "id": Position(row.txid, row.id, row.created_at).encode(),
        "type": row.type,
        "subjectId": str(row.subject_id),
        "createdAt": format_timestamp(row.created_at),
        "replaced": row.replaced,
        "data": row.payload,
    }


def event_id_of(txid: int, event_id: int, created_at: datetime) -> str:
    """The feed's id of an event (its position, a cursor that resumes after it)."""
    return Position(txid, event_id, created_at).encode()


def start_of(query: EventQuery, retention: timedelta, now: datetime) -> Position | None:
    """The query's cursor (400 if not one of ours, 410 once older than ``retention``)."""
    if query.after is None:
        return None
    position = Position.decode(query.after)
    if position.at < now - retention:
        raise Gone(RESYNC.format(days=retention.days))
    return position


async def read_page(
    session: AsyncSession, tenant_id: uuid.UUID, query: EventQuery, after: Position | None
) -> FeedPage:
    """The next events after ``after`` that can no longer be preceded by another."""
    rows = await EventRepository(session, tenant_id).read(
        after=None if after is None else (after.txid, after.id),
        types=query.type_list(),
        limit=query.per_page,
        stable_only=session.get_bind().dialect.name == "postgresql",
    )
    documents = [event_document(row) for row in rows]
    if documents:
        return FeedPage(documents, documents[-1]["id"])
    return FeedPage([], query.after)


@contextlib.asynccontextmanager
async def _reading(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for one read, on the connections that only read (``db.read_only_options``):
    no ``BEGIN``/``COMMIT`` round trips, and on SQLite no write lock, so the feed never queues
    behind a writer, and a writer's open transaction never shows in it."""
    engine: AsyncEngine = factory.kw["bind"]
    async with factory(bind=engine.execution_options(**read_only_options(engine))) as session:
        yield session
        await session.commit()


async def follow(
    factory: async_sessionmaker[AsyncSession],
    signal: FeedSignal,
    tenant_id: uuid.UUID,
    query: EventQuery,
    *,
    retention: timedelta,
    max_wait: float = MAX_WAIT_SECONDS,
) -> FeedPage:
    """:func:`read_page`, waiting up to ``query.wait`` seconds (at most ``max_wait``) for an
    event when there is none.

    Each read is a short transaction of its own: no connection is held while waiting.
    """
    after = start_of(query, retention, utcnow())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(query.wait, max_wait)
    while True:
        # Taken before the read: a commit during the read still wakes the wait after it.
        wakeup = signal.next_wakeup() if query.wait else None
        async with _reading(factory) as session:
            page = await read_page(session, tenant_id, query, after)
        remaining = deadline - loop.time()
        if page.events or remaining <= 0 or wakeup is None:
            return page
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=min(remaining, POLL_SECONDS))
