from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.models import Operator
from tests.admin.conftest import Admin
from tests.error_bodies import error_body

OPERATORS = "/api/operators"
OPERATOR_FIELDS = {
    "id",
    "type",
    "externalId",
    "name",
    "email",
    "phone",
    "isActive",
    "createdAt",
    "updatedAt",
}


async def _stored(factory: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], Operator]:
    async with session_scope(factory) as session:
        rows = (await session.scalars(select(Operator))).all()
        return {(o.type, o.external_id): o for o in rows}


async def test_sync_creates_and_updates_by_type_and_external_id(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        f"{OPERATORS}/sync",
        headers=admin.headers,
        json={
            "items": [
                {"external_id": "OP-17", "type": "SALESMAN", "name": "Ana María Rojas"},
                {"external_id": "OP-17", "type": "CALLCENTER", "name": "Luis Soto"},
                {
                    "external_id": "AC-1",
                    "type": "ACTIVATOR",
                    "name": "Pía Vera",
                    "email": "pia@example.com",
                    "phone": "+56 9 1234 5678",
                },
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 2, "updated": 1, "total": 3}
    stored = await _stored(session_factory)
    assert stored[("SALESMAN", "OP-17")].name == "Ana María Rojas"
    assert stored[("CALLCENTER", "OP-17")].name == "Luis Soto"
    assert stored[("ACTIVATOR", "AC-1")].email == "pia@example.com"


async def test_sync_refuses_invalid_items_naming_the_field(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cases = [
        ({"items": []}, "items"),
        ({"items": [{"external_id": "X", "type": "PILOT", "name": "a"}]}, "items.0.type"),
        ({"items": [{"external_id": "X", "name": "a"}]}, "items.0.type"),
        (
            {
                "items": [
                    {"external_id": "X", "type": "SALESMAN", "name": "a"},
                    {"external_id": "X", "type": "SALESMAN", "name": "b"},
                ]
            },
            "items.1.external_id",
        ),
    ]
    for body, field in cases:
        response = await client.post(f"{OPERATORS}/sync", headers=admin.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["details"][0]["field"] == field
    bad_type = await client.post(
        f"{OPERATORS}/sync",
        headers=admin.headers,
        json={"items": [{"external_id": "X", "type": "PILOT", "name": "a"}]},
    )
    assert bad_type.json()["message"] == (
        "items.0.type: must be one of SALESMAN, ACTIVATOR or CALLCENTER"
    )
    assert set(await _stored(session_factory)) == {("SALESMAN", "OP-17")}


async def test_list_filters_by_search_and_type(client: httpx.AsyncClient, admin: Admin) -> None:
    await client.post(
        f"{OPERATORS}/sync",
        headers=admin.headers,
        json={
            "items": [
                {"external_id": "CC-1", "type": "CALLCENTER", "name": "Bruno Díaz"},
                {"external_id": "CC-2", "type": "CALLCENTER", "name": "Carla Rojas"},
            ]
        },
    )
    everything = await client.get(OPERATORS, headers=admin.headers)
    assert everything.status_code == 200, everything.text
    assert [o["name"] for o in everything.json()["data"]] == [
        "Ana Rojas",
        "Bruno Díaz",
        "Carla Rojas",
    ]
    assert set(everything.json()["data"][0]) == OPERATOR_FIELDS

    rojas = await client.get(OPERATORS, headers=admin.headers, params={"q": "ROJAS"})
    assert [o["externalId"] for o in rojas.json()["data"]] == ["OP-17", "CC-2"]
    callcenter_rojas = await client.get(
        OPERATORS, headers=admin.headers, params={"q": "rojas", "type": "CALLCENTER"}
    )
    assert [o["externalId"] for o in callcenter_rojas.json()["data"]] == ["CC-2"]
    assert callcenter_rojas.json()["meta"]["total"] == 1

    bad = await client.get(OPERATORS, headers=admin.headers, params={"type": "PILOT"})
    assert bad.status_code == 400
    assert bad.json()["details"][0]["field"] == "type"


async def test_get_update_and_unknown(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    operator_id = (await _stored(session_factory))[("SALESMAN", "OP-17")].id
    shown = await client.get(f"{OPERATORS}/{operator_id}", headers=admin.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["type"] == "SALESMAN"
    assert shown.json()["name"] == "Ana Rojas"

    updated = await client.patch(
        f"{OPERATORS}/{operator_id}",
        headers=admin.headers,
        json={"email": "ana@example.com", "is_active": False},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["email"] == "ana@example.com"
    assert updated.json()["isActive"] is False
    assert updated.json()["name"] == "Ana Rojas"

    refused = await client.patch(
        f"{OPERATORS}/{operator_id}", headers=admin.headers, json={"type": "CALLCENTER"}
    )
    assert refused.status_code == 400
    assert refused.json()["details"][0]["field"] == "type"

    missing = uuid.uuid4()
    expected = error_body(404, f"Operator '{missing}' not found")
    for response in [
        await client.get(f"{OPERATORS}/{missing}", headers=admin.headers),
        await client.patch(f"{OPERATORS}/{missing}", headers=admin.headers, json={"name": "x"}),
    ]:
        assert (response.status_code, response.json()) == (404, expected)
