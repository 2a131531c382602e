"""Wake-up signals for a dispatcher: in-process commits and PostgreSQL ``LISTEN``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog

from taskbridge.dispatch import outbox
from taskbridge.kit.notify import asyncpg_dsn as asyncpg_dsn

log = structlog.get_logger(__name__)

RECONNECT_SECONDS = 2.0


class Wakeup:
    """An event set by commits that enqueued deliveries (this process) or by ``NOTIFY``."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def __call__(self) -> None:
        """Thread-safe: commits may happen on another thread's loop. Never fails a commit."""
        with contextlib.suppress(RuntimeError):  # this dispatcher's loop has closed
            self._loop.call_soon_threadsafe(self.event.set)

    def __enter__(self) -> Wakeup:
        outbox.add_waker(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        outbox.remove_waker(self)


class PgListener:
    """Keeps a ``LISTEN`` connection open, reconnecting when it drops; polling covers the gaps."""

    def __init__(self, database_url: str, wakeup: Wakeup) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.wakeup = wakeup
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def _on_notify(self, *_args: Any) -> None:
        self.wakeup.event.set()

    async def _listen_once(self) -> None:
        """Listen on one connection until it is lost."""
        connection = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _c: lost.set())
            await connection.add_listener(outbox.NOTIFY_CHANNEL, self._on_notify)
            self.connected.set()
            self.wakeup.event.set()  # anything committed while nobody was listening
            await lost.wait()
            log.warning("dispatch_listen_lost")
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await connection.close(timeout=1)

    async def _listen_forever(self) -> None:
        failing = False  # logged once per outage, not every RECONNECT_SECONDS
        while True:
            try:
                await self._listen_once()
                failing = False
            except (OSError, asyncpg.PostgresError) as exc:
                if not failing:
                    log.warning("dispatch_listen_failed", error=str(exc))
                failing = True
            await asyncio.sleep(RECONNECT_SECONDS)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="dispatch-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout=5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
