"""Failed sign-ins, counted per account and per address, kept in this process."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_SECONDS = 15 * 60.0


class LoginThrottle:
    """After too many recent failures for an email or an address, sign-in waits.

    Per process: N server processes allow up to N times the failures.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        return failures

    def retry_after(self, email: str, address: str) -> int:
        """0 when a sign-in may be tried now; otherwise the seconds to wait."""
        waits = []
        for key, limit in (
            (f"account:{email}", MAX_FAILURES_PER_ACCOUNT),
            (f"address:{address}", MAX_FAILURES_PER_ADDRESS),
        ):
            failures = self._recent(key)
            if len(failures) >= limit:
                waits.append(failures[0] + WINDOW_SECONDS - self._clock())
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, email: str, address: str) -> None:
        now = self._clock()
        for key in (f"account:{email}", f"address:{address}"):
            self._recent(key).append(now)

    def succeeded(self, email: str) -> None:
        self._failures.pop(f"account:{email}", None)
