"""A per-process cache with bounded staleness and single-flight loading.

An entry is served for at most ``ttl`` seconds after it was read from the database, so a change
committed anywhere is seen by every process within ``ttl``. Concurrent misses for one key share
one load instead of stampeding the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

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
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value, or the result of ``load()`` (shared by concurrent callers)."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self.ttl:
            return entry[1]
        pending = self._loading.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled() or _being_cancelled():
                    raise
            except Exception:  # noqa: S110 - the sharer's failure is reported to the sharer
                pass
        return await self._load(key, load)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
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
