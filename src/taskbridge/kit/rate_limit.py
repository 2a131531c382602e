"""Request rate limits per caller, counted in Redis so every server process shares them.

Built on :pypi:`limits`. It has no token bucket; of what it offers, the **sliding-window
counter** is the closest: like a bucket refilled continuously it has no window edge at which a
client may send twice its quota (a fixed window does), and it costs one Lua call and two small
keys per limit in Redis, where the exact **moving window** keeps one sorted-set entry per request
(100,000 entries for a quota of 100,000/minute) and does O(log n) work on each. Its count weighs
the previous window by how much of it still overlaps the last ``w`` seconds: an approximation that
errs by at most the previous window's share, which is what a limit protecting availability needs.

Each request is checked against its policies in order (the caller's, then its tenant's): a
refused request stops there, so a key refused on its own limit does not spend its tenant's. One
Redis call per policy; the refusal, rare by design, costs one more to learn when a slot frees.

Headers (draft-ietf-httpapi-ratelimit-headers-09/-10): a 429 carries ``Retry-After``,
``RateLimit-Policy: "per-key";q=1000;w=1`` and ``RateLimit: "per-key";r=0;t=<seconds>`` for the
policy that refused. Successful responses carry none: ``r`` (remaining) would need a second Redis
call per policy on every request, doubling the cost of the limits for a figure clients can do
without (the draft makes the fields optional).

Where the counters live: Redis when a URL is given; otherwise this process's memory, which is a
true limit only when one process serves. With several processes and no Redis, :meth:`create`
turns the limits off rather than enforce a per-process count as if it were the global one.

Redis down: fail open. The limits protect availability; refusing every request because their
counter is away would turn a Redis outage into an API outage. The first failure of an episode is
logged, then Redis is tried again at most once a second (requests meanwhile are not counted and
do not wait on a dead socket); the first call that succeeds logs the end of the episode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import redis.asyncio
import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from prometheus_client import Counter

log = structlog.get_logger(__name__)

RATE_LIMITED = Counter(
    "taskbridge_rate_limited_total",
    "Requests refused with 429 by a rate limit, by the policy's scope",
    ["scope"],
)
RETRY_STORAGE_SECONDS = 1.0
"""While Redis is away, how often a request tries it again (the others pass uncounted)."""
REDIS_TIMEOUT_SECONDS = 0.5
"""Connect and command timeout: a hung Redis delays a request by at most this, once a second."""
KEY_PREFIX = "taskbridge"
"""Before every counter's key in Redis."""


@dataclass(frozen=True, slots=True)
class Policy:
    """A named quota: ``item.amount`` requests per ``item.get_expiry()`` seconds."""

    name: str
    """The policy's name in the ``RateLimit`` fields (``per-key``)."""
    scope: str
    """Its ``scope`` label on :data:`RATE_LIMITED` (``key``)."""
    item: RateLimitItem

    @property
    def field(self) -> str:
        """This policy as a ``RateLimit-Policy`` list member."""
        return f'"{self.name}";q={self.item.amount};w={self.item.get_expiry()}'


@dataclass(frozen=True, slots=True)
class Exceeded:
    """A refusal: which policy, and in how many seconds one more request is allowed."""

    policy: Policy
    retry_after: int

    @property
    def message(self) -> str:
        return f"Rate limit exceeded ({self.policy.name}): retry in {self.retry_after} s"

    def headers(self) -> dict[str, str]:
        return {
            "Retry-After": str(self.retry_after),
            "RateLimit-Policy": self.policy.field,
            "RateLimit": f'"{self.policy.name}";r=0;t={self.retry_after}',
        }


class StorageEpisodes:
    """One process's view of the counter storage being away: logged once per episode, retried
    at most every :data:`RETRY_STORAGE_SECONDS` (one event loop per process: no lock needed)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since: float | None = None
        self._retry_at = 0.0
        self._uncounted = 0

    def skip(self) -> bool:
        """Whether to leave this request uncounted without trying the storage."""
        if self._since is None or self._clock() >= self._retry_at:
            return False
        self._uncounted += 1
        return True

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        self._retry_at = now + RETRY_STORAGE_SECONDS
        self._uncounted += 1
        if self._since is None:
            self._since = now
            log.warning(
                "rate_limit_storage_unavailable",
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
                effect="requests are not rate-limited until it answers",
            )

    def answered(self) -> None:
        if self._since is None:
            return
        seconds, uncounted = self._clock() - self._since, self._uncounted
        self._since, self._uncounted = None, 0
        log.info(
            "rate_limit_storage_available_again", seconds=round(seconds, 3), uncounted=uncounted
        )


class RateLimits:
    """Named policies checked against one storage; :meth:`hit` is all a request needs."""

    def __init__(self, storage: Storage | None, policies: Mapping[str, Policy]) -> None:
        self.storage = storage
        self.policies = dict(policies) if storage is not None else {}
        self._limiter = SlidingWindowCounterRateLimiter(storage) if storage is not None else None
        self._episodes = StorageEpisodes()

    @classmethod
    def create(
        cls, *, redis_url: str | None, processes: int, rates: Mapping[str, tuple[str, str]]
    ) -> RateLimits:
        """Policies from ``rates`` (name → (scope, rate string); an empty rate: no policy), on
        Redis if ``redis_url``, else in memory when one process serves, else none at all."""
        policies = {
            name: Policy(name, scope, parse(rate)) for name, (scope, rate) in rates.items() if rate
        }
        if not policies:
            return cls(None, {})
        if redis_url:
            return cls(redis_storage(redis_url), policies)
        if processes == 1:
            return cls(MemoryStorage(), policies)
        return cls(None, {})

    @property
    def enforced(self) -> bool:
        return bool(self.policies)

    async def hit(self, *checks: tuple[str, str]) -> Exceeded | None:
        """Count one request against each ``(policy name, identity)`` in order; the first
        policy whose quota is spent refuses it (and the later ones are not counted)."""
        limiter = self._limiter
        if limiter is None or self._episodes.skip():
            return None
        try:
            for name, identity in checks:
                policy = self.policies.get(name)
                if policy is None:
                    continue
                if not await limiter.hit(policy.item, name, identity):
                    stats = await limiter.get_window_stats(policy.item, name, identity)
                    RATE_LIMITED.labels(policy.scope).inc()
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    self._episodes.answered()
                    return Exceeded(policy, wait)
        except (StorageError, OSError) as exc:
            self._episodes.failed(exc)
            return None
        self._episodes.answered()
        return None

    async def close(self) -> None:
        """Release the storage's connections (Redis)."""
        if isinstance(self.storage, RedisStorage):
            client = getattr(self.storage.bridge, "storage", None)  # RedispyBridge's client
            if isinstance(client, redis.asyncio.Redis):
                await client.aclose()


def redis_storage(url: str) -> RedisStorage:
    """``limits``' async Redis storage on redis-py's asyncio client (``redis.asyncio``), with
    short timeouts so a Redis that hangs cannot hold requests."""
    return RedisStorage(
        "async+" + url,
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix=KEY_PREFIX,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
