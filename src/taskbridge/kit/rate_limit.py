"""Request rate limits per caller, counted in Redis so every server process shares them.

The quotas are parsed by :pypi:`limits` (``1000/second``); the counting is this module's. The
algorithm is the **sliding-window counter** (as ``limits`` implements it, same keys in Redis): like
a bucket refilled continuously it has no window edge at which a client may send twice its quota (a
fixed window does), and it costs two small keys per limit, where the exact **moving window** keeps
one sorted-set entry per request (100,000 entries for a quota of 100,000/minute). Its count weighs
the previous window by how much of it still overlaps the last ``w`` seconds: an approximation that
errs by at most the previous window's share, which is what a limit protecting availability needs.

**One round trip.** A request is checked against all its policies (the caller's, then its
tenant's) by one Lua script (:data:`HIT_SCRIPT`, sent once, then called by its SHA): it checks
every window and increments them only if none is spent, atomically. So a refused request spends
no quota at all (neither its own nor its tenant's), and the refusal names the first policy whose
quota is spent, with what its ``Retry-After`` needs, in the same answer. (``limits`` takes one
round trip per policy, plus one to learn the wait.) The keys of one request's policies must live
on one Redis server: a Redis Cluster would refuse the script (CROSSSLOT).

Headers (draft-ietf-httpapi-ratelimit-headers-09/-10): a 429 carries ``Retry-After``,
``RateLimit-Policy: "per-key";q=1000;w=1`` and ``RateLimit: "per-key";r=0;t=<seconds>`` for the
policy that refused. Successful responses carry none (the draft makes the fields optional).

Where the counters live: Redis when a URL is given; otherwise this process's memory
(:class:`MemoryWindows`, the same algorithm in Python), which is a true limit only when one
process serves. With several processes and no Redis, :meth:`RateLimits.create` turns the limits
off rather than enforce a per-process count as if it were the global one.

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

import redis
import structlog
from limits import RateLimitItem, parse
from prometheus_client import Counter

from taskbridge.kit.rate_windows import Limit, MemoryWindows, RedisWindows, Windows

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
    """Named policies checked against one set of counters; :meth:`hit` is all a request needs."""

    def __init__(self, windows: Windows | None, policies: Mapping[str, Policy]) -> None:
        self.windows = windows
        self.policies = dict(policies) if windows is not None else {}
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
            return cls(RedisWindows.from_url(redis_url, REDIS_TIMEOUT_SECONDS), policies)
        if processes == 1:
            return cls(MemoryWindows(), policies)
        return cls(None, {})

    @property
    def enforced(self) -> bool:
        return bool(self.policies)

    async def hit(self, *checks: tuple[str, str]) -> Exceeded | None:
        """Count one request against every ``(policy name, identity)``, or against none when
        one's quota is spent: the first such policy, in order, refuses it."""
        windows = self.windows
        if windows is None or self._episodes.skip():
            return None
        limits: list[Limit] = []
        policies: list[Policy] = []
        for name, identity in checks:
            policy = self.policies.get(name)
            if policy is not None:
                limits.append((policy.item, name, identity))
                policies.append(policy)
        if not limits:
            return None
        try:
            spent = await windows.hit(limits)
        except (redis.RedisError, OSError) as exc:
            self._episodes.failed(exc)
            return None
        self._episodes.answered()
        if spent is None:
            return None
        index, window = spent
        policy = policies[index]
        RATE_LIMITED.labels(policy.scope).inc()
        wait = max(1, math.ceil(window.seconds_until_room(policy.item.get_expiry())))
        return Exceeded(policy, wait)

    async def close(self) -> None:
        """Release the counters' connections (Redis)."""
        if self.windows is not None:
            await self.windows.close()
