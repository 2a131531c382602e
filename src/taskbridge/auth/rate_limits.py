"""Which rate limits an authenticated caller counts against (see :mod:`taskbridge.kit.rate_limit`).

An API key counts against its own quota (``per-key``) and its tenant's (``per-tenant``), shared by
every key and person of the tenant, so one tenant's traffic never spends another's. A person's
bearer token counts against a quota of their own (``per-user``, at the per-key rate: a person is
one more caller, and a script holding their token should not outrun a key) and the tenant's of
``x-tenant-id``, counted only once membership is established (a stranger's calls spend nobody's
quota). Limits are counted once per request, where the caller is first authenticated.
"""

from __future__ import annotations

from taskbridge.auth.principal import ApiKeyPrincipal, UserPrincipal
from taskbridge.config import Settings
from taskbridge.errors import TooManyRequests
from taskbridge.kit.rate_limit import Exceeded, RateLimits

KEY_POLICY = "per-key"
USER_POLICY = "per-user"
TENANT_POLICY = "per-tenant"
EXAMPLE_REFUSAL = "Rate limit exceeded (per-key): retry in 1 s"

Check = tuple[str, str]


def rate_limits_for(settings: Settings) -> RateLimits:
    """The process's limits: Redis-backed with ``redis_url``; in memory for one worker; else
    off (``serve`` says so at start-up)."""
    return RateLimits.create(
        redis_url=settings.redis_url,
        processes=settings.workers,
        rates={
            KEY_POLICY: ("key", settings.rate_limit_per_key),
            USER_POLICY: ("user", settings.rate_limit_per_key),
            TENANT_POLICY: ("tenant", settings.rate_limit_per_tenant),
        },
    )


def key_checks(key: ApiKeyPrincipal) -> tuple[Check, Check]:
    return (KEY_POLICY, str(key.key_id)), (TENANT_POLICY, str(key.tenant_id))


def user_checks(user: UserPrincipal) -> tuple[Check, Check]:
    return (USER_POLICY, str(user.user_id)), (TENANT_POLICY, str(user.tenant_id))


def refusal(exceeded: Exceeded) -> TooManyRequests:
    """The 429 in the contract body, with ``Retry-After`` and the ``RateLimit`` fields."""
    error = TooManyRequests(exceeded.message, retry_after=exceeded.retry_after)
    error.headers = exceeded.headers()
    return error


async def enforce(limits: RateLimits, checks: tuple[Check, ...]) -> None:
    """Count this request (429 when a quota is spent)."""
    if limits.enforced:
        exceeded = await limits.hit(*checks)
        if exceeded is not None:
            raise refusal(exceeded)
