"""Sliding-window counters for :mod:`taskbridge.kit.rate_limit`: several limits checked and
counted in one step, in Redis (one Lua call) or in this process's memory.

Each limit has two counters: the current window's and the previous one's. A window lasts the
limit's period (``expiry``); the current counter is created with a time-to-live of two periods,
and once less than one period of it is left it becomes the previous window (renamed, keeping its
time-to-live) and a fresh current counter starts at 0. The count a request is judged by is
``floor(previous × previous_ttl / expiry) + current``: the previous window weighted by how much
of it still overlaps the last period. This is ``limits``' ``SlidingWindowCounterRateLimiter``
algorithm and key layout (``{LIMITER/<name>/<identity>/<amount>/<multiples>/<unit>}`` and its
``/-1``), so counters carry over from a version that used it.

A step checks every limit in order and increments them all only if none is spent: the answer is
``None`` (counted) or the index of the first spent limit with its window (nothing counted).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio
from limits import RateLimitItem

KEY_PREFIX = "taskbridge"
"""Before every counter's key in Redis."""

HIT_SCRIPT = """
-- KEYS: previous and current window keys of each limit, in order.
-- ARGV: amount and expiry (seconds) of each limit, in order. Times in milliseconds.
-- Returns 0 when every limit had room (all incremented), else {index, previous count,
-- previous ttl, current count, current ttl} of the first spent limit (nothing incremented).
local limits = #KEYS / 2
for i = 1, limits do
  local previous, current = KEYS[2 * i - 1], KEYS[2 * i]
  local amount, expiry = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i]) * 1000
  local current_ttl = tonumber(redis.call('pttl', current))
  if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', current, previous)
    redis.call('set', current, 0, 'PX', current_ttl + expiry)
  end
  local previous_count = tonumber(redis.call('get', previous)) or 0
  local previous_ttl = math.max(tonumber(redis.call('pttl', previous)), 0)
  local current_count = tonumber(redis.call('get', current)) or 0
  current_ttl = math.max(tonumber(redis.call('pttl', current)), 0)
  if math.floor(previous_count * previous_ttl / expiry) + current_count + 1 > amount then
    return {i, previous_count, previous_ttl, current_count, current_ttl}
  end
end
for i = 1, limits do
  local current = KEYS[2 * i]
  if redis.call('exists', current) == 1 then
    redis.call('incr', current)
  else
    redis.call('set', current, 1, 'PX', tonumber(ARGV[2 * i]) * 2000)
  end
end
return 0
"""

Limit = tuple[RateLimitItem, str, str]
"""A quota, and the policy name and identity it is counted for."""


@dataclass(frozen=True, slots=True)
class Window:
    """A spent limit's two counters when it refused (ttls in seconds)."""

    previous_count: int
    previous_ttl: float
    current_count: int
    current_ttl: float

    def seconds_until_room(self, expiry: int) -> float:
        """When the weighted count next drops (as ``limits``' ``get_window_stats`` reckons it):
        the previous window loses one request every ``expiry / previous_count`` seconds, the
        current one starts over within ``expiry``."""
        waits = [math.inf]
        if self.previous_count:
            waits.append(self.previous_ttl % (expiry / self.previous_count))
        if self.current_count:
            waits.append(self.current_ttl % expiry)
        wait = min(waits)
        return 0.0 if math.isinf(wait) else wait


class Windows(Protocol):
    async def hit(self, limits: Sequence[Limit]) -> tuple[int, Window] | None:
        """Count one request against every limit, or none of them: ``None``, or the index (from
        0) of the first spent limit and its window."""

    async def close(self) -> None: ...


def window_keys(item: RateLimitItem, name: str, identity: str) -> tuple[str, str]:
    """The previous and the current window's keys of one limit."""
    current = f"{{{item.key_for(name, identity)}}}"
    return f"{current}/-1", current


class RedisWindows:
    """The counters in Redis: one ``EVALSHA`` of :data:`HIT_SCRIPT` per request (redis-py loads
    the script again by itself if the server forgot it)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self._hit = client.register_script(HIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str, timeout: float) -> RedisWindows:
        """Short timeouts, so a Redis that hangs cannot hold requests."""
        return cls(
            redis.asyncio.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
        )

    async def hit(self, limits: Sequence[Limit]) -> tuple[int, Window] | None:
        keys: list[str] = []
        args: list[int] = []
        for item, name, identity in limits:
            keys += [f"{KEY_PREFIX}:{key}" for key in window_keys(item, name, identity)]
            args += [item.amount, item.get_expiry()]
        answer = await self._hit(keys=keys, args=args)
        if not answer:
            return None
        index, previous_count, previous_ttl, current_count, current_ttl = answer
        window = Window(previous_count, previous_ttl / 1000, current_count, current_ttl / 1000)
        return int(index) - 1, window

    async def close(self) -> None:
        await self.client.aclose()


SWEEP_SECONDS = 60.0
"""How often :class:`MemoryWindows` forgets expired counters (so idle callers cost no memory)."""


class MemoryWindows:
    """The same counters in this process's memory (one event loop: no lock needed)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counters: dict[str, tuple[int, float]] = {}
        """Key → (count, when it expires)."""
        self._sweep_at = clock() + SWEEP_SECONDS

    def _read(self, key: str, now: float) -> tuple[int, float]:
        """(count, seconds to live); (0, 0) for a missing or expired counter."""
        counter = self._counters.get(key)
        if counter is None or counter[1] <= now:
            return 0, 0.0
        return counter[0], counter[1] - now

    async def hit(self, limits: Sequence[Limit]) -> tuple[int, Window] | None:
        now = self._clock()
        if now >= self._sweep_at:
            self._counters = {k: c for k, c in self._counters.items() if c[1] > now}
            self._sweep_at = now + SWEEP_SECONDS
        currents: list[tuple[str, int]] = []
        for index, (item, name, identity) in enumerate(limits):
            previous, current = window_keys(item, name, identity)
            expiry = item.get_expiry()
            current_count, current_ttl = self._read(current, now)
            if 0 < current_ttl < expiry:  # the current window becomes the previous one
                self._counters[previous] = (current_count, now + current_ttl)
                self._counters[current] = (0, now + current_ttl + expiry)
            previous_count, previous_ttl = self._read(previous, now)
            current_count, current_ttl = self._read(current, now)
            weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
            if weighted + 1 > item.amount:
                return index, Window(previous_count, previous_ttl, current_count, current_ttl)
            currents.append((current, expiry))
        for current, expiry in currents:
            count, ttl = self._read(current, now)
            self._counters[current] = (count + 1, now + ttl) if ttl else (1, now + 2 * expiry)
        return None

    async def close(self) -> None:
        self._counters.clear()
