"""``PATCH /api/commerces/{id}`` and ``PATCH /api/operators/{id}`` leave one audit entry each
(``commerce.updated``, ``operator.updated``) holding only the fields whose value changed; a PATCH
that changes nothing, or is refused, leaves none."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin.conftest import Admin
from tests.audit.support import no_entry, one_entry, target_of


async def _id_of(client: httpx.AsyncClient, admin: Admin, collection: str) -> str:
    listed = await client.get(f"/api/{collection}", headers=admin.headers)
    found: str = listed.json()["data"][0]["id"]
    return found


async def test_a_commerce_update_records_only_what_changed(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    path = f"/api/commerces/{await _id_of(client, admin, 'commerces')}"

    async def rename() -> None:
        body = {"name": "Almacén Don Pedro e Hijos", "tax_id": None, "is_active": False}
        response = await client.patch(path, headers=admin.headers, json=body)
        assert response.status_code == 200, response.text

    entry = await one_entry(session_factory, "commerce.updated", rename)
    assert target_of(entry) == ("commerce", path.rsplit("/", 1)[1])
    assert entry.actor_type == "api_key"
    assert entry.changes == {
        "before": {"name": "Almacén Don Pedro", "is_active": True},
        "after": {"name": "Almacén Don Pedro e Hijos", "is_active": False},
    }

    async def unchanged_or_refused() -> None:
        same = await client.patch(path, headers=admin.headers, json={"is_active": False})
        assert same.status_code == 200
        blank = await client.patch(path, headers=admin.headers, json={"name": " "})
        assert blank.status_code == 400

    await no_entry(session_factory, unchanged_or_refused)


async def test_an_operator_update_records_only_what_changed(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    path = f"/api/operators/{await _id_of(client, admin, 'operators')}"

    async def contact() -> None:
        body = {"name": "Ana Rojas", "email": "ana@acme.test", "phone": "+56 9 1234 5678"}
        response = await client.patch(path, headers=admin.headers, json=body)
        assert response.status_code == 200, response.text

    entry = await one_entry(session_factory, "operator.updated", contact)
    assert target_of(entry) == ("operator", path.rsplit("/", 1)[1])
    assert entry.changes == {
        "before": {"email": None, "phone": None},
        "after": {"email": "ana@acme.test", "phone": "+56 9 1234 5678"},
    }

    async def unchanged() -> None:
        same = await client.patch(path, headers=admin.headers, json={"name": "Ana Rojas"})
        assert same.status_code == 200

    await no_entry(session_factory, unchanged)
