"""Every admin route asks for its permission (spec/platform.md) before it reads anything."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from tests.admin.conftest import key_headers
from tests.error_bodies import error_body
from tests.factories import create_tenant

ANY_ID = uuid.uuid4()
ROUTES: list[tuple[str, str, Permission]] = [
    ("POST", "/api/api-keys", Permission.MANAGE_API_KEYS),
    ("GET", "/api/api-keys", Permission.MANAGE_API_KEYS),
    ("POST", f"/api/api-keys/{ANY_ID}/revoke", Permission.MANAGE_API_KEYS),
    ("GET", "/api/task-result-type-configs", Permission.VIEW_ACTIVITIES),
    ("POST", "/api/task-result-type-configs", Permission.MANAGE_ACTIVITY_CONFIG),
    ("PATCH", f"/api/task-result-type-configs/{ANY_ID}", Permission.MANAGE_ACTIVITY_CONFIG),
    ("DELETE", f"/api/task-result-type-configs/{ANY_ID}", Permission.MANAGE_ACTIVITY_CONFIG),
    ("POST", f"/api/task-result-type-configs/{ANY_ID}/archive", Permission.MANAGE_ACTIVITY_CONFIG),
    ("POST", f"/api/task-result-type-configs/{ANY_ID}/restore", Permission.MANAGE_ACTIVITY_CONFIG),
    ("POST", "/api/task-result-type-configs/reorder", Permission.MANAGE_ACTIVITY_CONFIG),
    ("POST", "/api/commerces/sync", Permission.SYNC_COMMERCES),
    ("GET", "/api/commerces", Permission.MANAGE_COMMERCES),
    ("GET", f"/api/commerces/{ANY_ID}", Permission.MANAGE_COMMERCES),
    ("PATCH", f"/api/commerces/{ANY_ID}", Permission.MANAGE_COMMERCES),
    ("POST", "/api/operators/sync", Permission.SYNC_OPERATORS),
    ("GET", "/api/operators", Permission.MANAGE_OPERATORS),
    ("GET", f"/api/operators/{ANY_ID}", Permission.MANAGE_OPERATORS),
    ("PATCH", f"/api/operators/{ANY_ID}", Permission.MANAGE_OPERATORS),
    ("POST", "/api/activities/tasks", Permission.CREATE_ACTIVITY),
    ("GET", "/api/activities", Permission.VIEW_ACTIVITIES),
    ("GET", f"/api/activities/{ANY_ID}", Permission.VIEW_ACTIVITIES),
    ("POST", f"/api/activities/{ANY_ID}/cancel", Permission.CANCEL_ACTIVITY),
    ("GET", "/api/activity-results", Permission.VIEW_ACTIVITIES),
]


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
async def test_a_key_without_the_permission_is_refused_before_validation(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    method: str,
    path: str,
    permission: Permission,
) -> None:
    async with session_factory() as session, session.begin():
        tenant = await create_tenant(session)
    everything_else = [p for p in TENANT_KEY_PERMISSIONS if p != permission]
    headers = await key_headers(session_factory, tenant.id, *everything_else)
    # An invalid body and query must not matter: 403 comes before 400 and 404.
    refused = await client.request(
        method, path, headers=headers, content=b"{not json", params={"per_page": 0}
    )
    assert refused.status_code == 403, refused.text
    assert refused.json() == error_body(
        403, "Insufficient permissions", requiredPermission=str(permission)
    )

    only_it = await key_headers(session_factory, tenant.id, permission)
    allowed = await client.request(method, path, headers=only_it, content=b"{not json")
    assert allowed.status_code in {200, 400, 404}, allowed.text

    missing = await client.request(method, path, content=b"{not json")
    assert missing.status_code == 401
    assert missing.json() == error_body(401, "API key missing or invalid")
