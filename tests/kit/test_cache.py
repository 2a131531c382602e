"""The per-process cache: bounded staleness, one load for concurrent misses, failures not kept."""

from __future__ import annotations

import asyncio

import pytest

from taskbridge.kit.cache import LargeCountCache, TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_values_are_reused_until_the_ttl_then_reloaded() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, clock=clock)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return loads

    assert await cache.get("k", load) == 1
    clock.now += 0.49
    assert await cache.get("k", load) == 1
    clock.now += 0.02
    assert await cache.get("k", load) == 2


async def test_a_zero_ttl_always_reads_through() -> None:
    cache: TtlCache[str, int] = TtlCache(0)
    values = iter(range(10))

    async def load() -> int:
        return next(values)

    assert [await cache.get("k", load) for _ in range(3)] == [0, 1, 2]


async def test_concurrent_misses_share_one_load() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0)
    release = asyncio.Event()
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await release.wait()
        return "v"

    waiting = [asyncio.create_task(cache.get("k", load)) for _ in range(20)]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*waiting) == ["v"] * 20
    assert loads == 1


async def test_a_failed_load_is_not_cached_and_waiters_load_for_themselves() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0)
    started = asyncio.Event()
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            started.set()
            await asyncio.sleep(0.01)
            raise RuntimeError("database went away")
        return "ok"

    first = asyncio.create_task(cache.get("k", flaky))
    await started.wait()
    second = asyncio.create_task(cache.get("k", flaky))
    with pytest.raises(RuntimeError):
        await first
    assert await second == "ok"
    assert await cache.get("k", flaky) == "ok"
    assert attempts == 2


async def test_a_cancelled_sharer_does_not_cancel_the_waiters() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0)
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(0.05)
        return "v"

    first = asyncio.create_task(cache.get("k", slow))
    await started.wait()
    second = asyncio.create_task(cache.get("k", slow))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "v"


async def test_small_counts_stay_exact_and_large_counts_are_reused_within_the_ttl() -> None:
    counts: LargeCountCache[str] = LargeCountCache(60.0, exact_below=100)
    values = iter([5, 6, 500, 501])

    async def count() -> int:
        return next(values)

    assert await counts.count("small", count) == 5
    assert await counts.count("small", count) == 6
    assert await counts.count("large", count) == 500
    assert await counts.count("large", count) == 500


async def test_a_due_entry_is_served_while_it_reloads_in_the_background() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, refresh_after=0.25, clock=clock)
    release = asyncio.Event()
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        if loads > 1:
            await release.wait()
        return loads

    assert await cache.get("k", load) == 1
    assert cache.peek("k") == 1
    clock.now += 0.3
    assert cache.peek("k") is None, "a reader without a loader leaves a due entry to get()"
    readers = [await cache.get("k", load) for _ in range(5)]
    assert readers == [1] * 5, "nobody waits for the reload"
    await asyncio.sleep(0)
    assert loads == 2, "one reload for all of them"
    release.set()
    await asyncio.sleep(0.01)
    assert await cache.get("k", load) == 2
    assert cache.peek("k") == 2


async def test_a_peek_serves_a_due_entry_while_its_reload_runs_never_past_the_ttl() -> None:
    """The configs fast path peeks: once one request started the reload, the others of those
    milliseconds stay on the fast path instead of all taking the full route."""
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, refresh_after=0.25, clock=clock)
    release = asyncio.Event()
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        if loads > 1:
            await release.wait()
        return loads

    assert await cache.get("k", load) == 1
    clock.now += 0.3
    assert cache.peek("k") is None, "nobody reloads it yet: left to get()"
    assert await cache.get("k", load) == 1
    await asyncio.sleep(0)
    assert loads == 2
    assert cache.peek("k") == 1, "served while the reload runs"
    clock.now += 0.2
    assert cache.peek("k") is None, "never past the ttl, reload or not"
    release.set()
    await asyncio.sleep(0.01)
    assert cache.peek("k") == 2


async def test_a_reader_without_a_loader_reloads_a_due_entry_with_the_last_one_given() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, refresh_after=0.25, clock=clock)
    release = asyncio.Event()
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        if loads > 1:
            await release.wait()
        return loads

    assert cache.peek_or_refresh("k") is None, "nothing cached: nothing to reload it with"
    assert await cache.get("k", load) == 1
    clock.now += 0.3
    assert [cache.peek_or_refresh("k") for _ in range(3)] == [1, 1, 1], "served meanwhile"
    await asyncio.sleep(0)
    assert loads == 2, "one reload for all of them"
    release.set()
    await asyncio.sleep(0.01)
    assert cache.peek_or_refresh("k") == 2
    clock.now += 0.5
    assert cache.peek_or_refresh("k") is None, "never past the ttl"
    cache.invalidate("k")
    assert await cache.get("k", load) == 3
    clock.now += 0.3
    cache.invalidate()
    assert cache.peek_or_refresh("k") is None, "invalidated: forgotten, loader and all"


async def test_an_entry_is_never_served_past_its_ttl_even_while_reloading() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, refresh_after=0.25, clock=clock)
    values = iter(range(10))

    async def load() -> int:
        return next(values)

    assert await cache.get("k", load) == 0
    clock.now += 0.5
    assert await cache.get("k", load) == 1


async def test_a_failed_background_reload_keeps_the_entry_until_its_ttl() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, refresh_after=0.25, clock=clock)
    failing = False

    async def load() -> int:
        if failing:
            raise RuntimeError("database down")
        return 7

    assert await cache.get("k", load) == 7
    failing = True
    clock.now += 0.3
    assert await cache.get("k", load) == 7
    await asyncio.sleep(0.01)
    assert await cache.get("k", load) == 7
    clock.now += 0.3
    with pytest.raises(RuntimeError, match="database down"):
        await cache.get("k", load)


async def test_a_reload_cancelled_before_it_ran_blocks_no_reader() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(0.5, refresh_after=0.25, clock=clock)
    values = iter(range(10))

    async def load() -> int:
        return next(values)

    assert await cache.get("k", load) == 0
    clock.now += 0.3
    assert await cache.get("k", load) == 0
    for task in list(cache._refreshing):
        task.cancel()
    await asyncio.sleep(0)
    clock.now += 0.3
    assert await asyncio.wait_for(cache.get("k", load), timeout=1) == 1


async def test_a_large_count_is_recounted_in_the_background_with_its_own_loader() -> None:
    """Past a third of the ttl, a read of a large total answers at once and starts ``recount``
    (never ``load``, which may use the reader's session); small totals stay exact."""
    clock = Clock()
    counts: LargeCountCache[str] = LargeCountCache(30.0, exact_below=100, clock=clock)
    recounted = asyncio.Event()
    used: list[str] = []

    async def load() -> int:
        used.append("load")
        return 500

    async def recount() -> int:
        used.append("recount")
        recounted.set()
        return 700

    assert await counts.count("k", load, recount=recount) == 500
    clock.now += 9.0
    assert await counts.count("k", load, recount=recount) == 500
    assert used == ["load"], "fresh: neither counts again"
    clock.now += 2.0
    assert await counts.count("k", load, recount=recount) == 500, "due: answered at once"
    await asyncio.wait_for(recounted.wait(), 5)
    await asyncio.sleep(0)
    assert await counts.count("k", load, recount=recount) == 700
    assert used == ["load", "recount"]


async def test_a_total_that_shrinks_below_the_bound_is_exact_from_its_next_count() -> None:
    clock = Clock()
    counts: LargeCountCache[str] = LargeCountCache(30.0, exact_below=100, clock=clock)
    values = iter([500, 40, 41])

    async def count() -> int:
        return next(values)

    assert await counts.count("k", count) == 500
    clock.now += 30.0
    assert await counts.count("k", count) == 40, "expired: counted again"
    assert await counts.count("k", count) == 41, "below the bound: counted every time"
