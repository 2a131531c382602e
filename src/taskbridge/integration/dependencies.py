"""What every integration route depends on besides its permission."""

from __future__ import annotations

import math

from fastapi import Request

from taskbridge.auth.dependencies import current_api_key
from taskbridge.errors import TooManyRequests
from taskbridge.kit.rate_limit import RateLimiter

RATE_LIMITED = "Rate limit exceeded"


async def within_rate_limit(request: Request) -> None:
    """429 with ``Retry-After`` once the calling key is over its allowance (a bad key is a 401)."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is None:
        return
    key = await current_api_key(request)
    wait = limiter.acquire(key.key_id)
    if wait > 0:
        raise TooManyRequests(RATE_LIMITED, retry_after=math.ceil(wait))
