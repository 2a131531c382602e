"""Sign-in throttling through HTTP, on a clock the test moves: a guesser locks only their own
(account, address) pair; the account itself is only ever delayed, at most 30 seconds."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.kit.time import utcnow
from taskbridge.users import throttle
from tests.error_bodies import ErrorBody
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person

TOO_MANY = ErrorBody(
    {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Too many failed sign-ins; try again later",
    }
)
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


class Clock:
    """The throttle's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(throttle, "utcnow", moved)
    return moved


async def sign_in_from(app: FastAPI, address: str, email: str, password: str) -> httpx.Response:
    """``POST /api/auth/login`` from a client at ``address``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.post("/api/auth/login", json={"email": email, "password": password})


def refused(response: httpx.Response) -> int:
    """The ``Retry-After`` of a contract-shaped 429."""
    assert (response.status_code, response.json()) == (429, TOO_MANY), response.text
    return int(response.headers["retry-after"])


async def test_a_guesser_locks_only_their_own_address_out_never_the_owner(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    world = await build_world(session_factory)
    owner = await add_person(session_factory, world.tenant.id, "ADMIN")
    for n in range(5):
        guess = await sign_in_from(app, ATTACKER, owner.email, f"guess-{n}")
        assert guess.status_code == 401

    assert refused(await sign_in_from(app, ATTACKER, owner.email, PASSWORD)) == 15 * 60
    assert refused(await sign_in_from(app, OWNER, owner.email, PASSWORD)) == 1, "only delayed"
    clock.advance(1)
    assert (await sign_in_from(app, OWNER, owner.email, PASSWORD)).status_code == 200

    clock.advance(60)
    still = await sign_in_from(app, ATTACKER, owner.email, PASSWORD)
    assert refused(still) == 15 * 60 - 61, "the owner's success does not unlock the guesser"
    clock.advance(15 * 60 - 61)
    assert (await sign_in_from(app, ATTACKER, owner.email, PASSWORD)).status_code == 200


async def test_guesses_spread_over_addresses_are_delayed_more_and_more_up_to_30_seconds(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    world = await build_world(session_factory)
    owner = await add_person(session_factory, world.tenant.id, "ADMIN")
    addresses = (f"192.0.2.{n}" for n in range(1, 200))
    for _ in range(5):
        guess = await sign_in_from(app, next(addresses), owner.email, "guess-guess")
        assert guess.status_code == 401

    waits = []
    for _ in range(8):
        wait = refused(await sign_in_from(app, next(addresses), owner.email, "guess-guess"))
        waits.append(wait)
        clock.advance(wait - 0.5)
        refused(await sign_in_from(app, next(addresses), owner.email, "guess-guess"))
        clock.advance(0.5)
        assert (await sign_in_from(app, next(addresses), owner.email, "guess")).status_code == 401
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]

    assert refused(await sign_in_from(app, OWNER, owner.email, PASSWORD)) == 30
    clock.advance(30)
    assert (await sign_in_from(app, OWNER, owner.email, PASSWORD)).status_code == 200


async def test_a_success_clears_its_own_address_failures_but_not_the_guessers(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    world = await build_world(session_factory)
    owner = await add_person(session_factory, world.tenant.id, "VIEWER")
    for _ in range(4):  # the owner's own typing mistakes
        assert (await sign_in_from(app, OWNER, owner.email, "typo-typo")).status_code == 401
    assert (await sign_in_from(app, OWNER, owner.email, PASSWORD)).status_code == 200
    for _ in range(4):  # forgotten: four more do not lock the owner's pair
        assert (await sign_in_from(app, OWNER, owner.email, "typo-typo")).status_code == 401
    assert (await sign_in_from(app, OWNER, owner.email, PASSWORD)).status_code == 200

    for n in range(6):
        clock.advance(1)
        guess = await sign_in_from(app, f"192.0.2.{n + 1}", owner.email, "guess-guess")
        assert guess.status_code == 401, n
    clock.advance(2)
    assert (await sign_in_from(app, OWNER, owner.email, PASSWORD)).status_code == 200
    assert (await sign_in_from(app, "192.0.2.99", owner.email, "guess")).status_code == 401
    delayed = await sign_in_from(app, "192.0.2.100", owner.email, "guess-guess")
    assert refused(delayed) == 4, "the guesser's failures still count after the owner's success"


async def test_an_address_guessing_at_many_accounts_is_stopped(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    world = await build_world(session_factory)
    owner = await add_person(session_factory, world.tenant.id, "VIEWER")
    for n in range(20):
        guess = await sign_in_from(app, ATTACKER, f"person{n}@acme.test", "guess-guess")
        assert guess.status_code == 401
    assert refused(await sign_in_from(app, ATTACKER, owner.email, PASSWORD)) == 15 * 60
    assert (await sign_in_from(app, OWNER, owner.email, PASSWORD)).status_code == 200


async def test_the_panel_sign_in_is_throttled_the_same_way(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    world = await build_world(session_factory)
    owner = await add_person(session_factory, world.tenant.id, "VIEWER")
    transport = httpx.ASGITransport(app=app, client=(ATTACKER, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        page = await browser.get("/admin/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        for _ in range(5):
            failed = await browser.post(
                "/admin/login",
                data={"email": owner.email, "password": "guess-guess", "csrf_token": token},
            )
            assert failed.status_code == 401
        locked = await browser.post(
            "/admin/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token}
        )
    assert locked.status_code == 429
    assert "Demasiados intentos fallidos" in locked.text
    clock.advance(1)
    assert (await sign_in_from(app, OWNER, owner.email, PASSWORD)).status_code == 200
