"""Rule 2 of the submission: every ill-formed body is a 400 naming the field by its dotted path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import World
from tests.integration.support import SUBMIT, count_results, submission_for

TIME_ZONE_RULE = "must be an ISO 8601 timestamp with a time zone (Z or +hh:mm)"


async def refused(client: httpx.AsyncClient, world: World, body: Any) -> dict[str, Any]:
    response = await client.post(SUBMIT, headers=world.headers, json=body)
    assert response.status_code == 400, response.text
    payload: dict[str, Any] = response.json()
    assert set(payload) == {"statusCode", "error", "message", "details", "requestId"}
    assert payload["statusCode"] == 400
    assert payload["error"] == "Bad Request"
    assert payload["message"].startswith(payload["details"][0]["message"])
    for detail in payload["details"]:
        assert detail["message"].startswith(f"{detail['field']}: ")
    return payload


def fields_of(payload: dict[str, Any]) -> list[str]:
    return [d["field"] for d in payload["details"]]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"activityId": "x"}, "activityId"),
        ({"hard_overide": True}, "hard_overide"),
        ({"task_result": {"result": "SALE_COMPLETED", "coment": "typo"}}, "task_result.coment"),
        (
            {"task_result": {"result": "SALE_COMPLETED", "futureScheduledAt": "2030-01-01T00:00Z"}},
            "task_result.futureScheduledAt",
        ),
    ],
)
async def test_unknown_fields_are_refused_by_dotted_name(
    client: httpx.AsyncClient, world: World, extra: dict[str, Any], field: str
) -> None:
    payload = await refused(client, world, {**submission_for(world), **extra})
    assert fields_of(payload) == [field]
    assert payload["message"] == f"{field}: is not a known field"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"activity_id": "not-a-uuid"}, "activity_id"),
        ({"activity_id": 42}, "activity_id"),
        ({"provider_activity_id": 42}, "provider_activity_id"),
        ({"provider_activity_id": ""}, "provider_activity_id"),
        ({"provider_activity_id": "p" * 256}, "provider_activity_id"),
        ({"commerce_external_id": None}, "commerce_external_id"),
        ({"commerce_external_id": ["COM-001"]}, "commerce_external_id"),
        ({"occurred_at": 1712831400}, "occurred_at"),
        ({"occurred_at": "2026-04-11"}, "occurred_at"),
        ({"occurred_at": "2026-04-11T10:30:00"}, "occurred_at"),
        ({"occurred_at": "11/04/2026 10:30"}, "occurred_at"),
        ({"status": "DONE"}, "status"),
        ({"status": "effective"}, "status"),
        ({"external_status": "s" * 256}, "external_status"),
        ({"hard_override": "yes"}, "hard_override"),
        ({"hard_override": 1}, "hard_override"),
        ({"raw_payload": [1, 2]}, "raw_payload"),
        ({"raw_payload": "text"}, "raw_payload"),
        ({"task_result": "SALE_COMPLETED"}, "task_result"),
        ({"task_result": {}}, "task_result.result"),
        ({"task_result": {"result": 7}}, "task_result.result"),
        (
            {"task_result": {"result": "SALE_COMPLETED", "comment": "c" * 2001}},
            "task_result.comment",
        ),
        (
            {"task_result": {"result": "SALE_COMPLETED", "contact_type": "EMAIL"}},
            "task_result.contact_type",
        ),
        (
            {
                "task_result": {
                    "result": "SALE_COMPLETED",
                    "future_scheduled_at": "2030-01-01T09:00:00",
                }
            },
            "task_result.future_scheduled_at",
        ),
        ({"task_result": {"result": "SALE_COMPLETED", "payload": [1]}}, "task_result.payload"),
        (
            {"task_result": {"result": "SALE_COMPLETED", "operator_external_id": 17}},
            "task_result.operator_external_id",
        ),
    ],
)
async def test_ill_typed_or_invalid_values_are_400_with_details(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    change: dict[str, Any],
    field: str,
) -> None:
    payload = await refused(client, world, {**submission_for(world), **change})
    assert fields_of(payload) == [field]
    assert await count_results(session_factory) == 0


async def test_exact_messages_for_common_mistakes(client: httpx.AsyncClient, world: World) -> None:
    base = submission_for(world)
    cases = {
        "occurred_at: " + TIME_ZONE_RULE: {**base, "occurred_at": "2026-04-11T10:30:00"},
        "status: must be one of EFFECTIVE, NOT_EFFECTIVE or PENDING": {**base, "status": "DONE"},
        "task_result.comment: must be at most 2000 characters": {
            **base,
            "task_result": {"result": "SALE_COMPLETED", "comment": "c" * 2001},
        },
        "task_result.contact_type: must be one of INBOUND or OUTBOUND": {
            **base,
            "task_result": {"result": "SALE_COMPLETED", "contact_type": "EMAIL"},
        },
    }
    for message, body in cases.items():
        assert (await refused(client, world, body))["message"] == message


async def test_comment_of_2000_characters_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {
        **submission_for(world),
        "task_result": {"result": "SALE_COMPLETED", "comment": "c" * 2000},
    }
    response = await client.post(SUBMIT, headers=world.headers, json=body)
    assert response.status_code == 201
    assert response.json()["taskResult"]["comment"] == "c" * 2000


async def test_every_offending_field_is_named(client: httpx.AsyncClient, world: World) -> None:
    body = {
        "activity_id": "nope",
        "commerce_external_id": "COM-001",
        "occurred_at": "2026-04-11",
        "status": "DONE",
        "task_result": {"result": "SALE_COMPLETED", "extra": 1},
    }
    payload = await refused(client, world, body)
    assert sorted(fields_of(payload)) == [
        "activity_id",
        "occurred_at",
        "status",
        "task_result.extra",
    ]
    assert payload["message"].endswith("(and 3 more)")


@pytest.mark.parametrize("raw", [b"", b"null", b"[]", b'"text"', b"{", b'{"a":1}garbage'])
async def test_non_object_bodies_are_400(
    client: httpx.AsyncClient, world: World, raw: bytes
) -> None:
    response = await client.post(
        SUBMIT, content=raw, headers={**world.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["details"][0]["field"] == "body"


async def test_errors_never_echo_internals(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        SUBMIT, content=b'{"activity_id": "x\\u0000"}', headers=world.headers
    )
    text = response.text.lower()
    for leak in ("traceback", "sqlalchemy", "select ", "pydantic", "https://errors"):
        assert leak not in text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"task_result": {"result": "SALE_COMPLETED", "comment": "a\u0000b"}},
            "task_result.comment",
        ),
        ({"commerce_external_id": "COM\u0000"}, "commerce_external_id"),
        ({"external_status": "\u0000"}, "external_status"),
        ({"raw_payload": {"list": ["ok", {"deep": "x\u0000"}]}}, "raw_payload.list.1.deep"),
        ({"raw_payload": {"key\u0000": 1}}, "raw_payload.key\u0000"),
        (
            {"task_result": {"result": "SALE_COMPLETED", "payload": {"a": "\u0000"}}},
            "task_result.payload.a",
        ),
    ],
)
async def test_nul_characters_are_400_on_every_database(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    change: dict[str, Any],
    field: str,
) -> None:
    payload = await refused(client, world, {**submission_for(world), **change})
    assert payload["details"] == [
        {"field": field, "message": f"{field}: must not contain the NUL character (\\u0000)"}
    ]
    assert await count_results(session_factory) == 0


async def test_nul_in_the_provider_id_is_400(client: httpx.AsyncClient, world: World) -> None:
    body = {**submission_for(world), "provider_activity_id": "P\u0000"}
    body.pop("activity_id")
    payload = await refused(client, world, body)
    assert fields_of(payload) == ["provider_activity_id"]


async def test_an_escaped_backslash_u0000_is_plain_text(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {**submission_for(world), "raw_payload": {"text": "\\u0000"}}
    response = await client.post(SUBMIT, headers=world.headers, json=body)
    assert response.status_code == 201
    assert response.json()["rawPayload"] == {"text": "\\u0000"}
