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
        self._reloaders: dict[K, Callable[[], Awaitable[V]]] = {}
        """Each key's last background-safe loader, for :meth:`peek_or_refresh`."""

    async def get(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        *,
        reload: Callable[[], Awaitable[V]] | None = None,
    ) -> V:
        """The cached value, or the result of ``load()`` (shared by concurrent callers).

        A background refresh calls ``reload`` when given (``load`` otherwise): ``load`` may then
        use the caller's own session, which the refresh outlives."""
        if self.refresh_after < self.ttl:
            self._reloaders[key] = reload or load
        entry = self._entries.get(key)
        if entry is not None:
            age = self._clock() - entry[0]
            if age < self.ttl:
                if age >= self.refresh_after and key not in self._loading:
                    self._refresh_in_background(key, reload or load)
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
        """The value if cached and not yet due for a refresh, or due and already being reloaded
        (still within ``ttl``), without loading; ``None`` otherwise.

        A reader that cannot load (it has no session) leaves a due entry to :meth:`get`, which
        starts its reload; until that reload ends the entry is served here. (Were it not, every
        request of those milliseconds would take :meth:`get`'s slower path: on the configs fast
        path, a burst of full FastAPI requests twice per ``ttl``, the p99 of the whole route.)
        """
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = self._clock() - entry[0]
        if age < self.refresh_after or (age < self.ttl and key in self._loading):
            return entry[1]
        return None

    def peek_or_refresh(self, key: K) -> V | None:
        """As :meth:`peek`, except that a due entry is reloaded in the background (with the
        loader :meth:`get` last had for it) and served meanwhile, within ``ttl``: a reader with
        no loader of its own (the configs fast path) then never has to leave a due entry to
        :meth:`get`'s callers, nor send its requests their way while the reload has not begun."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = self._clock() - entry[0]
        if age >= self.ttl:
            return None
        if age >= self.refresh_after and key not in self._loading:
            reload = self._reloaders.get(key)
            if reload is None:
                return None
            self._refresh_in_background(key, reload)
        return entry[1]

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
            self._reloaders = {k: r for k, r in self._reloaders.items() if k in self._entries}
        self._entries[key] = (loaded_at, value)

    def invalidate(self, key: K | None = None) -> None:
        """Forget one key (or everything): the next read goes to the database."""
        if key is None:
            self._entries.clear()
            self._reloaders.clear()
        else:
            self._entries.pop(key, None)
            self._reloaders.pop(key, None)


LARGE_COUNT_TTL = 30.0
"""Seconds a total of ``exact_below`` rows or more is reused (refreshed after a third of it)."""


class LargeCountCache(Generic[K]):
    """Exact counts for small sets; a count of a large set is reused for up to ``ttl``.

    Counting a million rows costs tens of milliseconds; doing it for every page, or every half
    second in every process, spends a sizeable share of a database core on one busy list. A
    total below ``exact_below`` is counted for every request (exact). A total at or above it is
    served for up to ``ttl`` seconds; after ``ttl / 3`` a read starts a recount in the background
    (with ``recount``, which must not use the reader's session) and is answered meanwhile, so no
    request waits for a large count once it is known. A set that shrinks below ``exact_below``
    shows its last large total until that recount (at most ``ttl``).
    """

    def __init__(
        self,
        ttl: float = LARGE_COUNT_TTL,
        *,
        exact_below: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counts: TtlCache[K, int] = TtlCache(ttl, refresh_after=ttl / 3, clock=clock)
        self.exact_below = exact_below

    async def count(
        self,
        key: K,
        load: Callable[[], Awaitable[int]],
        *,
        recount: Callable[[], Awaitable[int]] | None = None,
    ) -> int:
        total = await self._counts.get(key, load, reload=recount)
        if total < self.exact_below:
            self._counts.invalidate(key)
        return total
