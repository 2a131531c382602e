"""The sliding-window counters: the same answers from Redis (one script call) and from memory."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis
from limits import parse

from taskbridge.kit.rate_limit import RateLimits
from taskbridge.kit.rate_windows import Limit, MemoryWindows, RedisWindows, Window, Windows

REDIS_URL = os.environ.get("TASKBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PER_KEY, PER_TENANT = parse("2/minute"), parse("3/minute")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def windows(request: pytest.FixtureRequest) -> AsyncIterator[Windows]:
    if request.param == "memory":
        yield MemoryWindows()
        return
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}): start redis-server")
    counters = RedisWindows.from_url(REDIS_URL, 2.0)
    yield counters
    await counters.close()


def checks(key: str, tenant: str) -> list[Limit]:
    return [(PER_KEY, "per-key", key), (PER_TENANT, "per-tenant", tenant)]


def refusing(answer: tuple[int, Window] | None) -> int | None:
    """Which limit refused (its index), None when the request was counted."""
    return None if answer is None else answer[0]


async def test_a_refused_request_spends_no_quota_its_own_or_its_tenants(windows: Windows) -> None:
    key, other_key, tenant, other_tenant = (uuid.uuid4().hex for _ in range(4))
    assert await windows.hit(checks(key, tenant)) is None
    assert await windows.hit(checks(key, tenant)) is None
    assert refusing(await windows.hit(checks(key, tenant))) == 0, "the key's quota (2) first"
    # The tenant counted 2 (not 3): one more from another key fits, the next does not.
    assert await windows.hit(checks(other_key, tenant)) is None
    assert refusing(await windows.hit(checks(other_key, tenant))) == 1, "then the tenant's (3)"
    # That refusal did not count for other_key: it still has one request of its 2.
    assert await windows.hit(checks(other_key, other_tenant)) is None
    assert refusing(await windows.hit(checks(other_key, other_tenant))) == 0


async def test_the_window_slides_and_the_wait_is_what_frees_a_slot() -> None:
    clock = Clock()
    windows = MemoryWindows(clock)
    limit = [(parse("2/minute"), "per-key", "k")]
    assert await windows.hit(limit) is None
    clock.now += 30
    assert await windows.hit(limit) is None
    spent = await windows.hit(limit)
    assert spent is not None
    # Both requests in the current window (created 30 s ago, 90 s to live): a minute from its
    # start it becomes the previous window, whose weight then falls over the next minute.
    assert spent[1] == Window(0, 0.0, 2, 90.0)
    assert spent[1].seconds_until_room(60) == 30.0
    clock.now += 31  # the window shifted: previous 2, weighted 2 × 59/60 → 1
    assert await windows.hit(limit) is None
    assert await windows.hit(limit) is not None
    clock.now += 120  # everything expired
    assert await windows.hit(limit) is None
    assert await windows.hit(limit) is None


async def test_limits_in_redis_are_shared_by_every_client_of_it() -> None:
    rates = {"per-key": ("key", "2/minute"), "per-tenant": ("tenant", "")}
    first = RateLimits.create(redis_url=REDIS_URL, processes=2, rates=rates)
    second = RateLimits.create(redis_url=REDIS_URL, processes=2, rates=rates)
    key = uuid.uuid4().hex
    try:
        assert await first.hit(("per-key", key), ("per-tenant", "t")) is None
        assert await second.hit(("per-key", key), ("per-tenant", "t")) is None
        exceeded = await first.hit(("per-key", key), ("per-tenant", "t"))
    finally:
        await first.close()
        await second.close()
    assert exceeded is not None
    assert exceeded.policy.name == "per-key"
    assert 1 <= exceeded.retry_after <= 60
    assert exceeded.headers()["RateLimit-Policy"] == '"per-key";q=2;w=60'
