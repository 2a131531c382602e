"""Session families: a replayed refresh token ends its family, signing out ends the family's access
tokens, and a password change (REST or panel) ends every other session of the person."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from taskbridge.db import session_scope
from taskbridge.models import UserSession
from taskbridge.users.tokens import hash_session_token
from tests.error_bodies import ErrorBody
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person
from tests.web.support import post_form, sign_in

NEW_PASSWORD = "a brand new passphrase"
REFRESH_REFUSED = ErrorBody(
    {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Refresh token missing, invalid or expired",
    }
)
CHANGE = "/api/auth/change-password"


@asynccontextmanager
async def device(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser or script: a client with cookies of its own."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def rest_sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Signs in over REST (the refresh cookie stays in ``http``); the access token."""
    response = await http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


def refresh_cookie(http: httpx.AsyncClient) -> str:
    return http.cookies.get("tb_refresh", path="/api/auth") or ""


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def me(http: httpx.AsyncClient, token: str) -> int:
    return (await http.get("/api/auth/me", headers=bearer(token))).status_code


async def family_of(
    factory: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> uuid.UUID:
    """The session family of the refresh cookie ``http`` holds."""
    async with session_scope(factory) as session:
        family = await session.scalar(
            select(UserSession.family_id).where(
                UserSession.token_hash == hash_session_token(refresh_cookie(http))
            )
        )
    assert family is not None
    return family


async def test_a_replayed_refresh_token_ends_its_whole_family_and_is_logged(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "VIEWER")
    async with device(app) as laptop:
        laptop_token = await rest_sign_in(laptop, person.email)
        await rest_sign_in(client, person.email)
        token_a = refresh_cookie(client)
        family = await family_of(session_factory, client)
        assert family != await family_of(session_factory, laptop), "each sign-in starts a family"

        rotated = await client.post("/api/auth/refresh")
        assert rotated.status_code == 200
        token_b = refresh_cookie(client)
        assert token_b
        assert token_b != token_a
        assert await family_of(session_factory, client) == family, "a refresh continues it"
        access_b = rotated.json()["accessToken"]
        assert await me(client, access_b) == 200

        with capture_logs() as logs:
            replayed = await client.post(
                "/api/auth/refresh", headers={"cookie": f"tb_refresh={token_a}"}
            )
        assert (replayed.status_code, replayed.json()) == (401, REFRESH_REFUSED)

        owner = await client.post("/api/auth/refresh")  # the newer token of the same family
        assert (owner.status_code, owner.json()) == (401, REFRESH_REFUSED)
        assert await me(client, access_b) == 401, "the family's access tokens end with it"

        assert (await laptop.post("/api/auth/refresh")).status_code == 200, "another family lives"
        assert await me(laptop, laptop_token) == 200

    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["event"] == "refresh_token_reused"
    assert warning["user_id"] == str(person.id)
    assert warning["family_id"] == str(family)
    for secret in (token_a, token_b, hash_session_token(token_a), hash_session_token(token_b)):
        assert secret not in repr(logs)


async def test_signing_out_ends_the_access_tokens_of_that_session_at_once(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "ADMIN")
    async with device(app) as phone:
        phone_token = await rest_sign_in(phone, person.email)
        token = await rest_sign_in(client, person.email)
        headers = {**bearer(token), "x-tenant-id": str(person.tenant_id)}
        assert await me(client, token) == 200
        assert (await client.get("/api/users", headers=headers)).status_code == 200

        assert (await client.post("/api/auth/logout")).status_code == 204

        assert await me(client, token) == 401
        refused = await client.get("/api/users", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["message"] == "Access token missing, invalid or expired"
        assert await me(phone, phone_token) == 200, "only the signed-out session ends"


async def test_changing_ones_password_over_rest_ends_every_other_session(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "FDE")
    async with device(app) as other_script, device(app) as browser:
        other_token = await rest_sign_in(other_script, person.email)
        assert (await sign_in(browser, person.email, PASSWORD)).status_code == 303
        token = await rest_sign_in(client, person.email)
        cookie_before = refresh_cookie(client)
        family = await family_of(session_factory, client)

        assert (await client.post(CHANGE, json={})).status_code == 401, "a bearer token first"
        wrong = await client.post(
            CHANGE,
            headers=bearer(token),
            json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 400
        assert wrong.json()["message"] == "current_password: is not your current password"
        assert wrong.json()["details"][0]["field"] == "current_password"
        short = await client.post(
            CHANGE,
            headers=bearer(token),
            json={"current_password": PASSWORD, "new_password": "short"},
        )
        assert short.status_code == 400
        assert short.json()["message"] == "new_password: must be at least 8 characters"
        missing = await client.post(CHANGE, headers=bearer(token), json={"new_password": "x" * 9})
        assert missing.json()["message"] == "current_password: is required"

        changed = await client.post(
            CHANGE,
            headers=bearer(token),
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["user"]["email"] == person.email
        new_token = body["accessToken"]
        assert refresh_cookie(client) not in ("", cookie_before), "the refresh cookie is rotated"
        assert await family_of(session_factory, client) == family, "the caller's session goes on"
        assert await me(client, new_token) == 200
        assert await me(client, token) == 401, "the old access token ended with the old password"
        assert (await client.post("/api/auth/refresh")).status_code == 200

        assert (await other_script.post("/api/auth/refresh")).status_code == 401
        assert await me(other_script, other_token) == 401
        panel = await browser.get("/admin/")
        assert panel.status_code == 303
        assert panel.headers["location"].startswith("/admin/login")

    old = await client.post("/api/auth/login", json={"email": person.email, "password": PASSWORD})
    assert old.status_code == 401
    await rest_sign_in(client, person.email, NEW_PASSWORD)


async def test_a_wrong_current_password_counts_as_a_failed_sign_in(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "VIEWER")
    token = await rest_sign_in(client, person.email)
    guesses = [f"guess number {n}" for n in range(6)]
    for guess in guesses[:5]:
        response = await client.post(
            CHANGE,
            headers=bearer(token),
            json={"current_password": guess, "new_password": NEW_PASSWORD},
        )
        assert response.status_code == 400

    throttled = await client.post(
        CHANGE,
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    login = await client.post("/api/auth/login", json={"email": person.email, "password": PASSWORD})
    assert login.status_code == 429, "the same count as sign-in"


async def test_changing_ones_password_in_the_panel_keeps_this_browser_only(
    app: FastAPI, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "VIEWER")
    async with device(app) as other_browser, device(app) as script:
        assert (await sign_in(other_browser, person.email, PASSWORD)).status_code == 303
        script_token = await rest_sign_in(script, person.email)
        assert (await sign_in(client, person.email, PASSWORD)).status_code == 303

        home = await client.get("/admin/")
        assert 'href="/admin/account"' in home.text
        assert "Cuenta" in home.text
        page = await client.get("/admin/account")
        assert page.status_code == 200
        assert "Cambiar contraseña" in page.text

        no_csrf = await client.post(
            "/admin/account/password",
            data={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert no_csrf.status_code == 403
        wrong = await post_form(
            client,
            "/admin/account",
            "/admin/account/password",
            {"current_password": "not my password", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 400
        assert "no es tu contraseña actual" in wrong.text
        short = await post_form(
            client,
            "/admin/account",
            "/admin/account/password",
            {"current_password": PASSWORD, "new_password": "short"},
        )
        assert short.status_code == 400
        assert "debe tener al menos 8 caracteres" in short.text

        changed = await post_form(
            client,
            "/admin/account",
            "/admin/account/password",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 303
        assert changed.headers["location"] == "/admin/account?notice=password"
        assert any(c.startswith("tb_session=") for c in changed.headers.get_list("set-cookie"))
        after = await client.get("/admin/account?notice=password")
        assert after.status_code == 200
        assert "Se cerraron tus otras sesiones" in after.text

        elsewhere = await other_browser.get("/admin/")
        assert elsewhere.status_code == 303
        assert elsewhere.headers["location"].startswith("/admin/login")
        assert (await script.post("/api/auth/refresh")).status_code == 401
        assert await me(script, script_token) == 401

        english = await post_form(
            client, "/admin/account", "/admin/language", {"language": "en", "back": "/admin/"}
        )
        assert english.status_code == 303
        assert "Account" in (await client.get("/admin/account")).text

    old = await client.post("/api/auth/login", json={"email": person.email, "password": PASSWORD})
    assert old.status_code == 401
    await rest_sign_in(client, person.email, NEW_PASSWORD)
    async with device(app) as fresh:
        assert (await sign_in(fresh, person.email, NEW_PASSWORD)).status_code == 303
        assert (await fresh.get("/admin/account")).status_code == 200
