"""``GET /api/audit-log``: newest first, filters, a keyset cursor, strict parameters, the
administrator's permission, and tenant walls; and the transaction rule: a change rolled back
leaves no entry, a committed one always has its entry."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.audit import service as audit
from taskbridge.audit.actors import Actor
from taskbridge.auth import service as keys
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.db import session_scope
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import AuditEntry
from tests.admin.conftest import Admin, key_headers
from tests.audit.support import count
from tests.factories import build_world, create_key

LOG = "/api/audit-log"
ACTOR = Actor("user", str(uuid.uuid4()), "ana@acme.test", "203.0.113.7")


async def _seed(factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, n: int) -> None:
    """``n`` entries one minute apart, the newest a minute ago, alternating two actions."""
    start = utcnow() - timedelta(minutes=n)
    async with session_scope(factory) as session:
        for i in range(n):
            action = "result_type.created" if i % 2 else "api_key.created"
            entry = audit.record(
                session, tenant_id, action, "thing", f"t-{i}", after={"i": i}, actor=ACTOR
            )
            assert entry is not None
            entry.occurred_at = start + timedelta(minutes=i)


async def _get(client: httpx.AsyncClient, admin: Admin, **params: Any) -> httpx.Response:
    return await client.get(LOG, headers=admin.headers, params=params)


async def test_newest_first_with_a_cursor_that_walks_every_entry_once(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    before = (await _get(client, admin, limit=100)).json()["meta"]["total"]
    await _seed(session_factory, admin.tenant_id, 25)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 10, "actor": ACTOR.label}
        if cursor:
            params["cursor"] = cursor
        page = await _get(client, admin, **params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += body["data"]
        assert body["meta"]["total"] == 25
        cursor = body["meta"]["nextCursor"]
        if cursor is None:
            break
    assert [e["target"]["id"] for e in seen] == [f"t-{i}" for i in reversed(range(25))]
    first = seen[0]
    assert first["actor"] == {
        "type": "user",
        "id": ACTOR.id,
        "label": ACTOR.label,
        "address": "203.0.113.7",
    }
    assert first["changes"] == {"before": {}, "after": {"i": 24}}
    assert (await _get(client, admin, limit=100)).json()["meta"]["total"] == before + 25


async def test_filters_by_actor_action_target_and_time(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _seed(session_factory, admin.tenant_id, 6)
    by_action = (await _get(client, admin, action="result_type.created", actor=ACTOR.id)).json()
    assert [e["target"]["id"] for e in by_action["data"]] == ["t-5", "t-3", "t-1"]
    by_target = (await _get(client, admin, target_type="thing", target_id="t-2")).json()
    assert [e["action"] for e in by_target["data"]] == ["api_key.created"]
    now = utcnow()
    window = {"from": format_timestamp(now - timedelta(minutes=4, seconds=30))}
    window["to"] = format_timestamp(now - timedelta(minutes=1, seconds=30))
    in_window = (await _get(client, admin, actor=ACTOR.label, **window)).json()
    assert [e["target"]["id"] for e in in_window["data"]] == ["t-4", "t-3", "t-2"]
    nobody = (await _get(client, admin, actor="nobody@acme.test")).json()
    assert (nobody["data"], nobody["meta"]["total"]) == ([], 0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"actions": "x"}, "actions"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-01-01T00:00:00"}, "from"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"action": "x" * 65}, "action"),
    ],
)
async def test_bad_parameters_are_a_400_naming_them(
    admin: Admin, client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await _get(client, admin, **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["statusCode"], body["error"]) == (400, "Bad Request")
    assert field in body["message"]


async def test_only_the_tenant_administrator_reads_it(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.get(LOG)).status_code == 401
    everything_but = [p for p in TENANT_KEY_PERMISSIONS if p is not Permission.MANAGE_API_KEYS]
    weaker = await key_headers(session_factory, admin.tenant_id, *everything_but)
    refused = await client.get(LOG, headers=weaker)
    assert refused.status_code == 403
    assert refused.json()["requiredPermission"] == "MANAGE_API_KEYS"
    assert (await client.get(LOG, headers=admin.headers)).status_code == 200


async def test_a_tenant_never_sees_nor_counts_another_tenants_entries(
    admin: Admin, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    other = await build_world(session_factory, slug="beta")
    await _seed(session_factory, other.tenant.id, 3)
    async with session_scope(session_factory) as session:
        other_key = await create_key(session, other.tenant.id, *TENANT_KEY_PERMISSIONS)
    theirs = (await client.get(LOG, headers={"x-api-key": other_key})).json()
    assert theirs["meta"]["total"] >= 3
    mine = (await _get(client, admin, limit=100)).json()
    their_ids = {e["id"] for e in theirs["data"]}
    assert their_ids.isdisjoint(e["id"] for e in mine["data"])
    for params in ({"actor": ACTOR.label}, {"target_id": "t-1"}, {"actor": ACTOR.id}):
        found = (await _get(client, admin, **params)).json()
        assert found == {
            "data": [],
            "meta": {"page": None, "limit": 20, "total": 0, "totalPages": 0, "nextCursor": None},
        }
    # A cursor taken from B's log reads A's log from that instant: nothing of B's.
    cursor = (await client.get(LOG, headers={"x-api-key": other_key}, params={"limit": 1})).json()
    after = await _get(client, admin, cursor=cursor["meta"]["nextCursor"])
    assert their_ids.isdisjoint(e["id"] for e in after.json()["data"])


async def test_a_change_rolled_back_leaves_no_entry_and_a_committed_one_has_it(
    admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    before = await count(session_factory)

    async def fails_after_the_change() -> None:
        async with session_scope(session_factory) as session:
            await keys.create_api_key(
                session, admin.tenant_id, name="rolled back", permissions=["VIEW_ACTIVITIES"]
            )
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        await fails_after_the_change()
    assert await count(session_factory) == before
    async with session_scope(session_factory) as session:
        created = await keys.create_api_key(
            session, admin.tenant_id, name="kept", permissions=["VIEW_ACTIVITIES"]
        )
    assert await count(session_factory) == before + 1
    async with session_scope(session_factory) as session:
        entry = await session.get(AuditEntry, (await _only_entry_of(session, created.key.id)))
        assert entry is not None
        assert entry.actor_type == "system"


async def _only_entry_of(session: AsyncSession, target: uuid.UUID) -> uuid.UUID:
    found = list(
        await session.scalars(select(AuditEntry.id).where(AuditEntry.target_id == str(target)))
    )
    assert len(found) == 1
    return found[0]


def test_the_endpoint_documents_its_statuses(app: Any) -> None:
    operation = app.openapi()["paths"][LOG]["get"]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    names = {p["name"] for p in operation["parameters"]}
    assert names >= {"actor", "action", "target_type", "target_id", "from", "to", "cursor", "limit"}
