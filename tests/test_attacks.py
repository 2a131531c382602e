"""Attacks that already fail, kept failing: stored XSS, mass assignment, open redirects.

Each one goes through HTTP as an attacker would, with the attacker's own valid credentials.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.models import Commerce, User
from tests.admin.conftest import Admin
from tests.admin.conftest import admin as admin
from tests.factories import build_world
from tests.users.support import PASSWORD, add_person
from tests.web.support import csrf_of, sign_in

SCRIPT = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


async def test_stored_markup_is_shown_as_text_in_the_panel(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    synced = await client.post(
        "/api/commerces/sync",
        headers=admin.headers,
        json={"items": [{"external_id": "XSS-1", "name": SCRIPT, "metadata": {"note": SCRIPT}}]},
    )
    assert synced.status_code == 200, synced.text
    person = await add_person(session_factory, admin.tenant_id, "ADMIN")
    assert (await sign_in(client, person.email, PASSWORD)).status_code == 303

    listing = await client.get("/admin/commerces")
    assert listing.status_code == 200
    assert "&lt;script&gt;alert(" in listing.text
    assert "<script>alert(" not in listing.text
    assert "<img src=x onerror" not in listing.text
    assert "script-src 'self'" in listing.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/commerces/sync",
            {"items": [{"external_id": "C", "name": "C", "tenant_id": "x"}]},
            "items.0.tenant_id",
        ),
        ("/api/api-keys", {"name": "k", "permissions": ["VIEW_ACTIVITIES"], "id": "x"}, "id"),
        (
            "/api/users",
            {"email": "a@b.test", "password": "long-enough", "role": "VIEWER", "is_active": False},
            "is_active",
        ),
        (
            "/api/users",
            {"email": "a@b.test", "password": "long-enough", "role": "VIEWER", "tenant_id": "x"},
            "tenant_id",
        ),
    ],
)
async def test_fields_a_client_may_not_set_are_refused_not_ignored(
    client: httpx.AsyncClient,
    admin: Admin,
    session_factory: async_sessionmaker[AsyncSession],
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    response = await client.post(path, headers=admin.headers, json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]
    async with session_scope(session_factory) as session:
        assert await session.scalar(select(User).where(User.email == "a@b.test")) is None
        assert await session.scalar(select(Commerce).where(Commerce.external_id == "C")) is None


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "/admin//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/admin/../../evil",
    ],
)
async def test_sign_in_never_sends_the_browser_to_another_site(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], target: str
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "VIEWER")
    page = await client.get("/admin/login", params={"next": target})
    response = await client.post(
        "/admin/login",
        data={
            "email": person.email,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_of(page),
        },
    )
    assert response.status_code == 303
    location = response.headers["location"]
    resolved = urlsplit(urljoin("https://tasks.example/admin/login", location))
    assert (resolved.scheme, resolved.netloc) == ("https", "tasks.example"), location


async def test_tokens_with_characters_beyond_ascii_are_refused_not_crashed_on(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await build_world(session_factory)
    token = "Bearer tb_at_e30.\u00e9t\u00e9".encode("latin-1")
    me = await client.get("/api/auth/me", headers={"authorization": token})
    assert me.status_code == 401
    listed = await client.get(
        "/api/users", headers={"authorization": token, "x-tenant-id": str(world.tenant.id)}
    )
    assert listed.status_code == 401

    page = await client.get("/admin/login")
    csrf_of(page)
    forged = await client.post(
        "/admin/login", data={"email": "a@b.test", "password": "x", "csrf_token": "\u00e9t\u00e9"}
    )
    assert forged.status_code == 403
