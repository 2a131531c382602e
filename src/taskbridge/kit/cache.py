"""A per-process cache with bounded staleness and single-flight loading.

An entry is served for at most ``ttl`` seconds after it was read from the database, so a change
committed anywhere is seen by every process within ``ttl``. Concurrent misses for one key share
one load instead of stampeding the database. With ``refresh_after``, a read of an entry older than
that starts a reload in the background and is answered from the entry, so under steady traffic no
request waits for the database (the reload must not use the reader's own session).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import structlog

from taskbridge.kit.outage import database_trouble

log = structlog.get_logger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl: float,
        *,
        refresh_after: float | None = None,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.refresh_after = ttl if refresh_after is None else min(refresh_after, ttl)
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}
        self._refreshing: set[asyncio.Task[None]] = set()

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or the result of ``load()`` (shared by concurrent callers)."""
        entry = self._entries.get(key)
        if entry is not None:
            age = self._clock() - entry[0]
            if age < self.ttl:
                if age >= self.refresh_after and key not in self._loading:
                    self._refresh_in_background(key, load)
                return entry[1]
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled() or _being_cancelled():
                    raise
            except Exception as exc:
                # The sharer's failure is reported to the sharer; but a database that cannot
                # answer is not asked again by every waiter at once.
                if database_trouble(exc) is not None:
                    raise
        return await self._load(key, load)

    def peek(self, key: K) -> V | None:
        """The value if cached and not yet due for a refresh, without loading; ``None`` otherwise.

        A reader that cannot load (it has no session) leaves due entries to :meth:`get`.
        """
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self.refresh_after:
            return entry[1]
        return None

    def _refresh_in_background(self, key: K, load: Callable[[], Awaitable[V]]) -> None:
        future = self._claim(key)
        task = asyncio.get_running_loop().create_task(self._refresh(key, load, future))
        self._refreshing.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._refreshing.discard(done)
            if not future.done():  # cancelled before it ran: nobody may wait on it
                future.cancel()
                if self._loading.get(key) is future:
                    del self._loading[key]

        task.add_done_callback(finished)

    async def _refresh(
        self, key: K, load: Callable[[], Awaitable[V]], future: asyncio.Future[V]
    ) -> None:
        try:
            await self._load(key, load, future)
        except Exception as exc:
            # The entry expires as it would have; the next reader loads and sees the error.
            # A database outage is the readers' to report (once), not a traceback per refresh.
            if database_trouble(exc) is None:
                log.warning("cache_refresh_failed", exc_info=True)

    def _claim(self, key: K) -> asyncio.Future[V]:
        """Registers the load of ``key`` now, so readers from this instant on share it."""
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        return future

    async def _load(
        self, key: K, load: Callable[[], Awaitable[V]], future: asyncio.Future[V] | None = None
    ) -> V:
        future = future or self._claim(key)
        loaded_at = self._clock()
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: waiters load for themselves
            raise
        finally:
            if self._loading.get(key) is future:
                del self._loading[key]
        self._store(key, loaded_at, value)
        future.set_result(value)
        return value

    def _store(self, key: K, loaded_at: float, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            cutoff = self._clock() - self.ttl
            self._entries = {k: e for k, e in self._entries.items() if e[0] >= cutoff}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[key] = (loaded_at, value)

    def invalidate(self, key: K | None = None) -> None:
        """Forget one key (or everything): the next read goes to the database."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)


class LargeCountCache(Generic[K]):
    """Exact counts for small sets; a count of a large set is reused for up to ``ttl``.

    Counting a million rows costs tens of milliseconds on every page of a list; a total that
    may be ``ttl`` old is worth that only when it is large, so small totals stay exact.
    """

    def __init__(self, ttl: float, *, exact_below: int = 10_000) -> None:
        self._counts: TtlCache[K, int] = TtlCache(ttl)
        self.exact_below = exact_below

    async def count(self, key: K, load: Callable[[], Awaitable[int]]) -> int:
        total = await self._counts.get(key, load)
        if total < self.exact_below:
            self._counts.invalidate(key)
        return total
