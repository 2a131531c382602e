from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.models import Commerce
from tests.admin.conftest import Admin
from tests.error_bodies import error_body

COMMERCES = "/api/commerces"
COMMERCE_FIELDS = {
    "id",
    "externalId",
    "name",
    "taxId",
    "metadata",
    "isActive",
    "createdAt",
    "updatedAt",
}


async def _stored(factory: async_sessionmaker[AsyncSession]) -> dict[str, Commerce]:
    async with session_scope(factory) as session:
        return {c.external_id: c for c in (await session.scalars(select(Commerce))).all()}


async def test_sync_creates_and_updates_by_external_id(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        f"{COMMERCES}/sync",
        headers=admin.headers,
        json={
            "items": [
                {"external_id": "COM-001", "name": "Don Pedro II", "tax_id": "76.123.456-7"},
                {"external_id": "COM-002", "name": "Kiosko Lucía", "metadata": {"zone": "N"}},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "updated": 1, "total": 2}
    stored = await _stored(session_factory)
    assert stored["COM-001"].name == "Don Pedro II"
    assert stored["COM-001"].tax_id == "76.123.456-7"
    assert stored["COM-002"].metadata_ == {"zone": "N"}


async def test_sync_refuses_invalid_items_naming_the_field(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cases = [
        ({}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"name": "Sin id"}]}, "items.0.external_id"),
        ({"items": [{"external_id": "C-9", "name": " "}]}, "items.0.name"),
        (
            {"items": [{"external_id": "C-9", "name": "a"}, {"external_id": "C-9", "name": "b"}]},
            "items.1.external_id",
        ),
        ({"items": [{"external_id": "C-9", "name": "a", "owner": "x"}]}, "items.0.owner"),
    ]
    for body, field in cases:
        response = await client.post(f"{COMMERCES}/sync", headers=admin.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["details"][0]["field"] == field
        assert response.json()["message"].startswith(f"{field}: ")
    assert set(await _stored(session_factory)) == {"COM-001"}


async def test_list_searches_and_paginates(client: httpx.AsyncClient, admin: Admin) -> None:
    await client.post(
        f"{COMMERCES}/sync",
        headers=admin.headers,
        json={
            "items": [
                {"external_id": "COM-002", "name": "Kiosko Lucía"},
                {"external_id": "LUC-3", "name": "Botillería Central"},
            ]
        },
    )
    everything = await client.get(COMMERCES, headers=admin.headers)
    assert everything.status_code == 200, everything.text
    assert [c["name"] for c in everything.json()["data"]] == [
        "Almacén Don Pedro",
        "Botillería Central",
        "Kiosko Lucía",
    ]
    assert set(everything.json()["data"][0]) == COMMERCE_FIELDS
    assert everything.json()["meta"]["total"] == 3

    found = await client.get(COMMERCES, headers=admin.headers, params={"q": "luc"})
    assert [c["externalId"] for c in found.json()["data"]] == ["LUC-3", "COM-002"]
    assert found.json()["meta"]["total"] == 2

    paged = await client.get(COMMERCES, headers=admin.headers, params={"per_page": 1, "page": 2})
    assert [c["name"] for c in paged.json()["data"]] == ["Botillería Central"]
    assert paged.json()["meta"] == {
        "page": 2,
        "limit": 1,
        "total": 3,
        "totalPages": 3,
        "nextCursor": None,
    }
    too_many = await client.get(COMMERCES, headers=admin.headers, params={"per_page": 500})
    assert too_many.status_code == 400
    assert too_many.json()["details"][0]["field"] == "per_page"


async def test_get_and_update(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    commerce_id = (await _stored(session_factory))["COM-001"].id
    shown = await client.get(f"{COMMERCES}/{commerce_id}", headers=admin.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["externalId"] == "COM-001"
    assert shown.json()["name"] == "Almacén Don Pedro"
    assert shown.json()["metadata"] == {}
    assert shown.json()["isActive"] is True

    updated = await client.patch(
        f"{COMMERCES}/{commerce_id}",
        headers=admin.headers,
        json={"name": "Don Pedro", "metadata": {"tier": "gold"}, "is_active": False},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Don Pedro"
    assert updated.json()["metadata"] == {"tier": "gold"}
    assert updated.json()["isActive"] is False
    assert updated.json()["externalId"] == "COM-001"
    stored = (await _stored(session_factory))["COM-001"]
    assert (stored.name, stored.is_active) == ("Don Pedro", False)

    for body, field in [
        ({"name": None}, "name"),
        ({"is_active": "no"}, "is_active"),
        ({"external_id": "COM-X"}, "external_id"),
    ]:
        refused = await client.patch(f"{COMMERCES}/{commerce_id}", headers=admin.headers, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["details"][0]["field"] == field


async def test_unknown_commerce_is_named(client: httpx.AsyncClient, admin: Admin) -> None:
    missing = uuid.uuid4()
    expected = error_body(404, f"Commerce '{missing}' not found")
    shown = await client.get(f"{COMMERCES}/{missing}", headers=admin.headers)
    assert (shown.status_code, shown.json()) == (404, expected)
    patched = await client.patch(f"{COMMERCES}/{missing}", headers=admin.headers, json={})
    assert (patched.status_code, patched.json()) == (404, expected)
