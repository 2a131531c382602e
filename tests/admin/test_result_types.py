from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.models import ResultType
from tests.admin.conftest import Admin
from tests.error_bodies import error_body

TYPES = "/api/task-result-type-configs"
CONFIGS = "/api/integration/task-result-type-configs"
SEED = ["SALE_COMPLETED", "NOT_INTERESTED", "RESCHEDULE", "NO_CONTACT"]
ADMIN_FIELDS = {
    "id",
    "code",
    "label",
    "requiresFutureScheduledAt",
    "position",
    "isActive",
    "translations",
    "createdAt",
    "updatedAt",
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def _types(client: httpx.AsyncClient, admin: Admin) -> list[dict[str, Any]]:
    response = await client.get(TYPES, headers=admin.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def _id_of(client: httpx.AsyncClient, admin: Admin, code: str) -> str:
    found: str = next(t["id"] for t in await _types(client, admin) if t["code"] == code)
    return found


async def _configs(client: httpx.AsyncClient, admin: Admin) -> list[str]:
    return [c["code"] for c in (await client.get(CONFIGS, headers=admin.headers)).json()]


async def _stored(factory: async_sessionmaker[AsyncSession], code: str) -> ResultType | None:
    async with session_scope(factory) as session:
        found: ResultType | None = await session.scalar(
            select(ResultType).where(ResultType.code == code)
        )
        return found


async def test_list_shows_the_admin_shape_including_archived(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    archived = await client.post(
        f"{TYPES}/{await _id_of(client, admin, 'NOT_INTERESTED')}/archive", headers=admin.headers
    )
    assert archived.status_code == 200, archived.text
    response = await client.get(TYPES, headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {"page": 1, "limit": 20, "total": 4, "totalPages": 1, "nextCursor": None}
    assert [(t["code"], t["isActive"]) for t in body["data"]] == [
        ("SALE_COMPLETED", True),
        ("RESCHEDULE", True),
        ("NO_CONTACT", True),
        ("NOT_INTERESTED", False),
    ]
    first = body["data"][0]
    assert set(first) == ADMIN_FIELDS
    assert first["label"] == "Venta completada"
    assert first["translations"] == {}
    assert TIMESTAMP.match(first["createdAt"])
    assert await _configs(client, admin) == ["SALE_COMPLETED", "RESCHEDULE", "NO_CONTACT"]


async def test_create_then_duplicate_code_conflicts(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    body = {
        "code": "CALL_BACK",
        "label": "Volver a llamar",
        "requires_future_scheduled_at": True,
        "translations": {"en": "Call back"},
    }
    created = await client.post(TYPES, headers=admin.headers, json=body)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert set(shown) == ADMIN_FIELDS
    assert shown["code"] == "CALL_BACK"
    assert shown["position"] == 4
    assert shown["isActive"] is True
    assert shown["requiresFutureScheduledAt"] is True
    assert shown["translations"] == {"en": "Call back"}
    assert await _configs(client, admin) == [*SEED, "CALL_BACK"]

    again = await client.post(TYPES, headers=admin.headers, json={**body, "label": "Otra"})
    assert again.status_code == 409
    assert again.json() == error_body(
        409, "Result type code 'CALL_BACK' already exists in this tenant"
    )


async def test_create_refuses_invalid_bodies_naming_the_field(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    cases = [
        ({"label": "Sin código"}, "code"),
        ({"code": "has space", "label": "x"}, "code"),
        ({"code": "x" * 65, "label": "x"}, "code"),
        ({"code": "OK"}, "label"),
        ({"code": "OK", "label": ""}, "label"),
        ({"code": "OK", "label": "   "}, "label"),
        ({"code": "OK", "label": "x" * 121}, "label"),
        ({"code": "OK", "label": "x", "requires_future_scheduled_at": "yes"}, None),
        ({"code": "OK", "label": "x", "translations": {"en": " "}}, "translations.en"),
        ({"code": "OK", "label": "x", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post(TYPES, headers=admin.headers, json=body)
        assert response.status_code == 400, (body, response.text)
        expected = field or "requires_future_scheduled_at"
        assert response.json()["details"][0]["field"] == expected, response.json()
        assert response.json()["message"].startswith(f"{expected}: ")
    assert [t["code"] for t in await _types(client, admin)] == SEED


async def test_update_changes_label_flag_and_translations_but_never_the_code(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    type_id = await _id_of(client, admin, "NO_CONTACT")
    updated = await client.patch(
        f"{TYPES}/{type_id}",
        headers=admin.headers,
        json={
            "label": "No contesta",
            "translations": {"en": "No answer"},
            "requires_future_scheduled_at": True,
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["label"] == "No contesta"
    assert updated.json()["translations"] == {"en": "No answer"}
    assert updated.json()["requiresFutureScheduledAt"] is True
    assert updated.json()["code"] == "NO_CONTACT"

    recode = await client.patch(
        f"{TYPES}/{type_id}", headers=admin.headers, json={"code": "NEW_CODE", "label": "Otro"}
    )
    assert recode.status_code == 400
    assert recode.json()["details"][0]["field"] == "code"
    assert recode.json()["message"] == (
        "code: cannot be changed: codes are immutable; "
        "create a new result type and archive this one"
    )
    stored = await _stored(session_factory, "NO_CONTACT")
    assert stored is not None
    assert stored.label == "No contesta"

    blank = await client.patch(f"{TYPES}/{type_id}", headers=admin.headers, json={"label": " "})
    assert blank.status_code == 400
    assert blank.json()["details"][0]["field"] == "label"


async def test_unknown_or_malformed_ids_are_named(client: httpx.AsyncClient, admin: Admin) -> None:
    missing = uuid.uuid4()
    expected = error_body(404, f"Result type '{missing}' not found")
    for method, path, body in [
        ("PATCH", f"{TYPES}/{missing}", {"label": "x"}),
        ("DELETE", f"{TYPES}/{missing}", None),
        ("POST", f"{TYPES}/{missing}/archive", None),
        ("POST", f"{TYPES}/{missing}/restore", None),
    ]:
        response = await client.request(method, path, headers=admin.headers, json=body)
        assert response.status_code == 404, (method, path)
        assert response.json() == expected
    malformed = await client.delete(f"{TYPES}/123", headers=admin.headers)
    assert malformed.status_code == 400
    assert malformed.json()["details"][0]["field"] == "result_type_id"


async def test_delete_only_when_unused(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    unused = await _id_of(client, admin, "NO_CONTACT")
    deleted = await client.delete(f"{TYPES}/{unused}", headers=admin.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert await _stored(session_factory, "NO_CONTACT") is None

    submitted = await client.post(
        "/api/integration/activity-results/tasks",
        headers=admin.world.headers,
        json={
            "activity_id": str(admin.world.task.id),
            "commerce_external_id": "COM-001",
            "occurred_at": "2026-04-11T10:30:00.000Z",
            "status": "EFFECTIVE",
            "task_result": {"result": "SALE_COMPLETED"},
        },
    )
    assert submitted.status_code == 201, submitted.text
    used = await _id_of(client, admin, "SALE_COMPLETED")
    refused = await client.delete(f"{TYPES}/{used}", headers=admin.headers)
    assert refused.status_code == 409
    assert refused.json() == error_body(
        409,
        "Result type 'SALE_COMPLETED' is used by results and cannot be deleted; archive it instead",
    )
    assert await _stored(session_factory, "SALE_COMPLETED") is not None


async def test_archive_and_restore(client: httpx.AsyncClient, admin: Admin) -> None:
    type_id = await _id_of(client, admin, "SALE_COMPLETED")
    archived = await client.post(f"{TYPES}/{type_id}/archive", headers=admin.headers)
    assert archived.status_code == 200, archived.text
    assert archived.json()["isActive"] is False
    assert "SALE_COMPLETED" not in await _configs(client, admin)

    restored = await client.post(f"{TYPES}/{type_id}/restore", headers=admin.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["isActive"] is True
    assert await _configs(client, admin) == [*SEED[1:], "SALE_COMPLETED"]


async def test_reorder(client: httpx.AsyncClient, admin: Admin) -> None:
    wanted = ["NO_CONTACT", "RESCHEDULE", "SALE_COMPLETED", "NOT_INTERESTED"]
    response = await client.post(f"{TYPES}/reorder", headers=admin.headers, json={"codes": wanted})
    assert response.status_code == 200, response.text
    assert [t["code"] for t in response.json()["data"]] == wanted
    assert [t["position"] for t in response.json()["data"]] == [0, 1, 2, 3]
    assert await _configs(client, admin) == wanted

    for codes, message in [
        (wanted[:3], "codes: must list every active code once; missing: NOT_INTERESTED"),
        ([*wanted, "NOPE"], "codes: 'NOPE' is not an active code of this tenant"),
        ([*wanted, "NO_CONTACT"], "codes: code 'NO_CONTACT' is listed more than once"),
    ]:
        refused = await client.post(
            f"{TYPES}/reorder", headers=admin.headers, json={"codes": codes}
        )
        assert refused.status_code == 400
        assert refused.json()["message"] == message
        assert refused.json()["details"][0]["field"] == "codes"
    missing_body = await client.post(f"{TYPES}/reorder", headers=admin.headers, json={})
    assert missing_body.status_code == 400
    assert missing_body.json()["details"][0]["field"] == "codes"
    assert await _configs(client, admin) == wanted
