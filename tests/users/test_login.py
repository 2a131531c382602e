"""Sign-in, refresh and me: what a person and a script see."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.kit.time import utcnow
from taskbridge.models import UserSession
from tests.error_bodies import ErrorBody
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person, log_in

INVALID = ErrorBody(
    {"statusCode": 401, "error": "Unauthorized", "message": "Invalid email or password"}
)


async def test_login_returns_a_token_the_user_and_an_httponly_refresh_cookie(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "ADMIN", email="ana@acme.test")

    response = await client.post(
        "/api/auth/login", json={"email": " Ana@Acme.test ", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["accessToken"].startswith("tb_at_")
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 900
    assert body["user"]["id"] == str(person.id)
    assert body["user"]["email"] == "ana@acme.test"
    assert body["user"]["tenants"] == [
        {"tenantId": str(world.tenant.id), "slug": "acme", "name": "Acme", "role": "ADMIN"}
    ]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("tb_refresh=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/api/auth" in cookie
    assert "password" not in response.text.lower()

    me = await client.get(
        "/api/auth/me", headers={"authorization": f"Bearer {body['accessToken']}"}
    )
    assert me.status_code == 200
    assert me.json() == body["user"]


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    await add_person(session_factory, world.tenant.id, "ADMIN", email="ana@acme.test")

    wrong = await client.post(
        "/api/auth/login", json={"email": "ana@acme.test", "password": "not the password"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@acme.test", "password": "not the password"}
    )
    missing = await client.post("/api/auth/login", json={"email": "ana@acme.test"})

    assert (wrong.status_code, wrong.json()) == (401, INVALID)
    assert (unknown.status_code, unknown.json()) == (401, INVALID)
    assert "set-cookie" not in wrong.headers
    assert missing.status_code == 400
    assert missing.json()["message"] == "password: is required"


async def test_failed_logins_are_limited_per_account_from_an_address_and_per_address(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    await add_person(session_factory, world.tenant.id, "ADMIN", email="ana@acme.test")
    for _ in range(5):
        failed = await client.post(
            "/api/auth/login", json={"email": "ana@acme.test", "password": "guess-guess"}
        )
        assert failed.status_code == 401

    locked = await client.post(  # this address, for this account (tests/users/test_throttle.py)
        "/api/auth/login", json={"email": "ana@acme.test", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert locked.json()["message"] == "Too many failed sign-ins; try again later"
    assert int(locked.headers["retry-after"]) > 0

    for n in range(15):  # other (unknown) accounts from the same address
        await client.post(
            "/api/auth/login", json={"email": f"x{n}@acme.test", "password": "guess-guess"}
        )
    other = await add_person(session_factory, world.tenant.id, "FDE")
    by_address = await client.post(
        "/api/auth/login", json={"email": other.email, "password": PASSWORD}
    )
    assert by_address.status_code == 429


async def test_failures_are_counted_by_every_server_process(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "VIEWER")
    other_process = create_app(settings)
    transport = httpx.ASGITransport(app=other_process)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        for http in (client, other, client, other, client):
            failed = await http.post(
                "/api/auth/login", json={"email": person.email, "password": "guess-guess"}
            )
            assert failed.status_code == 401
        locked = await other.post(
            "/api/auth/login", json={"email": person.email, "password": PASSWORD}
        )
    await other_process.state.engine.dispose()
    assert locked.status_code == 429


async def test_refresh_rotates_the_cookie_and_an_expired_one_is_refused(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "VIEWER")
    await log_in(client, person.email)
    first_cookie = client.cookies.get("tb_refresh", path="/api/auth")

    refreshed = await client.post("/api/auth/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json()["user"]["email"] == person.email
    second_cookie = client.cookies.get("tb_refresh", path="/api/auth")
    assert second_cookie
    assert second_cookie != first_cookie

    replayed = await client.post(
        "/api/auth/refresh", headers={"cookie": f"tb_refresh={first_cookie}"}
    )
    assert replayed.status_code == 401

    async with session_scope(session_factory) as session:
        await session.execute(update(UserSession).values(expires_at=utcnow()))
    expired = await client.post("/api/auth/refresh")
    assert expired.status_code == 401
    assert expired.json()["message"] == "Refresh token missing, invalid or expired"


async def test_logout_ends_the_refresh_session(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "VIEWER")
    await log_in(client, person.email)
    cookie = client.cookies.get("tb_refresh", path="/api/auth") or ""

    assert (await client.post("/api/auth/logout")).status_code == 204
    again = await client.post("/api/auth/refresh", headers={"cookie": f"tb_refresh={cookie}"})
    assert again.status_code == 401


async def test_me_needs_a_valid_bearer_token(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"authorization": "Bearer tb_at_forged.sig"}):
        response = await client.get("/api/auth/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["message"] == "Access token missing, invalid or expired"
