from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import Permission
from taskbridge.db import session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import ApiKey
from tests.admin.conftest import Admin, key_headers
from tests.error_bodies import error_body

KEYS = "/api/api-keys"
KEY_FIELDS = {
    "id",
    "name",
    "keyPrefix",
    "permissions",
    "expiresAt",
    "lastUsedAt",
    "revokedAt",
    "createdAt",
}


async def _count_keys(factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(factory) as session:
        return int(await session.scalar(select(func.count(ApiKey.id))) or 0)


async def test_create_returns_the_plaintext_once_and_the_key_works(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    expires = format_timestamp(utcnow() + timedelta(days=30))
    response = await client.post(
        KEYS,
        headers=admin.headers,
        json={
            "name": "  Call center  ",
            "permissions": ["VIEW_ACTIVITIES", "SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"],
            "expires_at": expires,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == KEY_FIELDS | {"plaintextKey"}
    plaintext = body["plaintextKey"]
    assert plaintext.startswith("tb_sk_")
    assert len(plaintext) >= 6 + 43
    assert body["keyPrefix"] == plaintext[:14]
    assert body["name"] == "Call center"
    assert body["permissions"] == ["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]
    assert body["expiresAt"] == expires
    assert body["lastUsedAt"] is None
    assert body["revokedAt"] is None
    uuid.UUID(body["id"])

    me = await client.get("/api/integration/me", headers={"x-api-key": plaintext})
    assert me.status_code == 200, me.text
    assert me.json()["apiKey"]["id"] == body["id"]
    assert me.json()["apiKey"]["permissions"] == ["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]


async def test_plaintext_is_never_listed_nor_stored(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post(
        KEYS, headers=admin.headers, json={"name": "once", "permissions": ["VIEW_ACTIVITIES"]}
    )
    assert created.status_code == 201, created.text
    plaintext = created.json()["plaintextKey"]
    secret_part = plaintext[14:]

    listed = await client.get(KEYS, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    assert secret_part not in listed.text
    row = next(k for k in listed.json()["data"] if k["id"] == created.json()["id"])
    assert set(row) == KEY_FIELDS
    assert row["keyPrefix"] == plaintext[:14]

    async with session_scope(session_factory) as session:
        rows = (await session.execute(text("SELECT * FROM api_keys"))).mappings().all()
    assert len(rows) == 3
    for stored in rows:
        for column, value in stored.items():
            assert secret_part not in str(value), f"api_keys.{column} holds the plaintext key"


async def test_a_key_never_grants_more_than_its_creator_has(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    creator = await key_headers(
        session_factory, admin.tenant_id, Permission.MANAGE_API_KEYS, Permission.VIEW_ACTIVITIES
    )
    before = await _count_keys(session_factory)
    beyond = await client.post(
        KEYS,
        headers=creator,
        json={"name": "escalate", "permissions": ["VIEW_ACTIVITIES", "SUBMIT_ACTIVITY_RESULT"]},
    )
    assert beyond.status_code == 403
    assert beyond.json() == error_body(
        403,
        "A key can only grant permissions its creator has; missing: SUBMIT_ACTIVITY_RESULT",
        requiredPermission="SUBMIT_ACTIVITY_RESULT",
    )
    assert await _count_keys(session_factory) == before

    within = await client.post(
        KEYS,
        headers=creator,
        json={"name": "subset", "permissions": ["VIEW_ACTIVITIES", "MANAGE_API_KEYS"]},
    )
    assert within.status_code == 201, within.text
    assert within.json()["permissions"] == ["MANAGE_API_KEYS", "VIEW_ACTIVITIES"]
    assert await _count_keys(session_factory) == before + 1


async def test_create_refuses_invalid_bodies_naming_the_field(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    before = await _count_keys(session_factory)
    cases = [
        ({"permissions": ["VIEW_ACTIVITIES"]}, "name", "name: is required"),
        ({"name": "   ", "permissions": ["VIEW_ACTIVITIES"]}, "name", "name: must not be blank"),
        ({"name": "x" * 256, "permissions": ["VIEW_ACTIVITIES"]}, "name", None),
        ({"name": "k", "permissions": []}, "permissions", None),
        ({"name": "k", "permissions": ["SUPERPOWER"]}, "permissions", None),
        (
            {"name": "k", "permissions": ["VIEW_ACTIVITIES"], "expires_at": "2030-01-01T00:00:00"},
            "expires_at",
            None,
        ),
        (
            {"name": "k", "permissions": ["VIEW_ACTIVITIES"], "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
            "expires_at: must be in the future",
        ),
        ({"name": "k", "permissions": ["VIEW_ACTIVITIES"], "role": "ADMIN"}, "role", None),
    ]
    for body, field, message in cases:
        response = await client.post(KEYS, headers=admin.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        payload = response.json()
        assert payload["statusCode"] == 400
        assert payload["error"] == "Bad Request"
        assert payload["message"].startswith(f"{field}: "), payload
        assert payload["details"][0]["field"] == field
        if message is not None:
            assert payload["message"] == message
    unknown = await client.post(
        KEYS, headers=admin.headers, json={"name": "k", "permissions": ["SUPERPOWER"]}
    )
    assert "unknown permission 'SUPERPOWER'" in unknown.json()["message"]
    assert await _count_keys(session_factory) == before


async def test_revoke_is_immediate_and_keeps_the_first_time(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    created = (
        await client.post(
            KEYS, headers=admin.headers, json={"name": "temp", "permissions": ["VIEW_ACTIVITIES"]}
        )
    ).json()
    temp = {"x-api-key": created["plaintextKey"]}
    assert (await client.get("/api/integration/me", headers=temp)).status_code == 200

    revoked = await client.post(f"{KEYS}/{created['id']}/revoke", headers=admin.headers)
    assert revoked.status_code == 200, revoked.text
    assert set(revoked.json()) == KEY_FIELDS
    assert revoked.json()["revokedAt"] is not None
    assert (await client.get("/api/integration/me", headers=temp)).status_code == 401

    again = await client.post(f"{KEYS}/{created['id']}/revoke", headers=admin.headers)
    assert again.status_code == 200
    assert again.json()["revokedAt"] == revoked.json()["revokedAt"]

    listed = (await client.get(KEYS, headers=admin.headers)).json()["data"]
    assert next(k for k in listed if k["id"] == created["id"])["revokedAt"] is not None


async def test_revoke_unknown_or_malformed_id(client: httpx.AsyncClient, admin: Admin) -> None:
    missing = uuid.uuid4()
    response = await client.post(f"{KEYS}/{missing}/revoke", headers=admin.headers)
    assert response.status_code == 404
    assert response.json() == error_body(404, f"API key '{missing}' not found")

    malformed = await client.post(f"{KEYS}/not-a-uuid/revoke", headers=admin.headers)
    assert malformed.status_code == 400
    assert malformed.json()["details"][0]["field"] == "key_id"


async def test_list_is_paginated(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(3):
        await key_headers(session_factory, admin.tenant_id, Permission.VIEW_ACTIVITIES)
    first = await client.get(KEYS, headers=admin.headers, params={"per_page": 2})
    assert first.status_code == 200, first.text
    assert first.json()["meta"] == {
        "page": 1,
        "limit": 2,
        "total": 5,
        "totalPages": 3,
        "nextCursor": None,
    }
    last = await client.get(KEYS, headers=admin.headers, params={"per_page": 2, "page": 3})
    assert len(last.json()["data"]) == 1
    ids = {k["id"] for k in first.json()["data"]} | {k["id"] for k in last.json()["data"]}
    assert len(ids) == 3

    too_many = await client.get(KEYS, headers=admin.headers, params={"per_page": 101})
    assert too_many.status_code == 400
    assert too_many.json()["details"][0]["field"] == "per_page"
    zero = await client.get(KEYS, headers=admin.headers, params={"page": 0})
    assert zero.status_code == 400
    assert zero.json()["details"][0]["field"] == "page"
