"""Per-key request rate limits, kept in this process."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class RateLimiter:
    """``per_minute`` requests per key and minute, in bursts of up to ``per_minute``.

    GCRA (a token bucket kept as one timestamp per key): no timers, no sweeping thread. The
    limit holds per process; N server processes admit up to N times the rate.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.interval = 60.0 / per_minute
        self.tolerance = 60.0 - self.interval
        self.max_keys = max_keys
        self._clock = clock
        self._next_due: dict[Hashable, float] = {}

    def acquire(self, key: Hashable) -> float:
        """0 when a request of ``key`` may proceed (it is counted); else seconds to wait."""
        now = self._clock()
        due = max(self._next_due.get(key, now), now)
        allowed_from = due - self.tolerance
        if now < allowed_from:
            return allowed_from - now
        if len(self._next_due) >= self.max_keys:
            self._forget_idle(now)
        self._next_due[key] = due + self.interval
        return 0.0

    def _forget_idle(self, now: float) -> None:
        """Keys whose bucket is full again carry no state worth keeping."""
        self._next_due = {k: due for k, due in self._next_due.items() if due > now}
