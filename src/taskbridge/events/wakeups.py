"""What wakes a long-polling feed reader: a commit in this process that wrote events (every
backend), or the ``NOTIFY`` a writing process sends after such a commit (PostgreSQL, any process;
``kit/notify.py``).

A reader takes :meth:`FeedSignal.next_wakeup` *before* it reads, so an event committed between
its read and its wait still wakes it. Wake-ups only shorten a wait: the reader also reads again
every :data:`POLL_SECONDS` (writers in other SQLite processes, a lost ``LISTEN`` connection, or
events held back by an older transaction still open on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from taskbridge.kit import notify
from taskbridge.kit.notify import asyncpg_dsn

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "taskbridge_events"
EVENTS_WRITTEN = "taskbridge.events.written"
"""``session.info`` flag: this transaction wrote events; wake this process's readers on commit."""
POLL_SECONDS = 0.5
RECONNECT_SECONDS = 2.0

_signals: weakref.WeakSet[FeedSignal] = weakref.WeakSet()


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(EVENTS_WRITTEN, False):
        bind = session.get_bind()
        if isinstance(bind, Engine):
            committed(bind)


def committed(bind: Engine) -> None:
    """A transaction that wrote events committed on ``bind``: wake the feed's readers, this
    process's at once and other processes' by a NOTIFY soon after (for a transaction outside a
    session, such as the result route's fast path; a session's own commits call it)."""
    for signal in list(_signals):
        signal.fire()
    notify.soon(bind, NOTIFY_CHANNEL)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(EVENTS_WRITTEN, None)


class FeedSignal:
    """One per application: wakes every reader waiting in it."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._dsn = asyncpg_dsn(database_url) if url.get_backend_name() == "postgresql" else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        _signals.add(self)

    def next_wakeup(self) -> asyncio.Event:
        """The event the next wake-up sets (bound to the running loop on first use)."""
        self._loop = self._loop or asyncio.get_running_loop()
        if self._dsn is not None and self._listener is None:
            self._listener = asyncio.create_task(
                self._listen_forever(self._dsn), name="events-listen"
            )
        return self._event

    def fire(self) -> None:
        """Thread-safe; never fails the commit that calls it."""
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            self._loop.call_soon_threadsafe(self._set)

    def _set(self) -> None:
        woken, self._event = self._event, asyncio.Event()
        woken.set()

    def _on_notify(self, *_args: Any) -> None:
        self._set()

    async def _listen_once(self, dsn: str) -> None:
        connection = await asyncpg.connect(dsn, timeout=5)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _c: lost.set())
            await connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
            self._set()  # whatever was committed while nobody listened
            await lost.wait()
            log.warning("events_listen_lost")
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=1)

    async def _listen_forever(self, dsn: str) -> None:
        failing = False
        while True:
            try:
                await self._listen_once(dsn)
                failing = False
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                if not failing:
                    log.warning("events_listen_failed", error=str(exc))
                failing = True
            await asyncio.sleep(RECONNECT_SECONDS)

    async def close(self) -> None:
        _signals.discard(self)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
