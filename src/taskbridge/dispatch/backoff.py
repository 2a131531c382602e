"""When to try a failed delivery again: exponential backoff with jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

FIRST_DELAY_SECONDS = 5.0
GROWTH = 4.0
MAX_DELAY_SECONDS = 3600.0
JITTER = 0.2
"""Each delay is scaled by a random factor in [1 - JITTER, 1 + JITTER]."""


def retry_delay(failed_attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """The wait after the ``failed_attempts``-th failure: ~5 s, 20 s, 80 s, … at most 1 h.

    With the default 8 attempts a delivery is retried for about two and a half hours.
    """
    base = FIRST_DELAY_SECONDS * GROWTH ** max(failed_attempts - 1, 0)
    factor = 1 - JITTER + 2 * JITTER * rand()
    return timedelta(seconds=min(MAX_DELAY_SECONDS, base * factor))
