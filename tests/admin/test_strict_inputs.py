"""The admin API as strict as its schema: JSON booleans and integers only, every GET route refusing
a parameter it does not read, ``limit`` as ``per_page`` on every list, and the rules the schema
documents (email, password length, header names) refused as 400s naming the field."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.kit.query import FLAG_RULE, UNKNOWN_PARAMETER, declared_query_names
from taskbridge.models import Commerce, ResultType
from tests.admin.conftest import Admin
from tests.error_bodies import error_body
from tests.users.support import add_person, bearer

BOOLEAN = "input should be a valid boolean"
INTEGER = "input should be a valid integer"


def refusal(field: str, rule: str) -> dict[str, Any]:
    message = f"{field}: {rule}"
    return error_body(400, message, details=[{"field": field, "message": message}])


async def _ids(factory: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with session_scope(factory) as session:
        commerce = (await session.scalars(select(Commerce))).one()
        result_type = (
            await session.scalars(select(ResultType).where(ResultType.code == "SALE_COMPLETED"))
        ).one()
        return {"commerce": str(commerce.id), "result_type": str(result_type.id)}


# --- JSON booleans and integers only ---------------------------------------------------------

LAX_VALUES: list[tuple[str, str, Any, str]] = [
    ("/api/commerces/{commerce}", "is_active", 0, BOOLEAN),
    ("/api/commerces/{commerce}", "is_active", "false", BOOLEAN),
    ("/api/task-result-type-configs/{result_type}", "position", False, INTEGER),
    ("/api/task-result-type-configs/{result_type}", "position", "3", INTEGER),
    ("/api/task-result-type-configs/{result_type}", "position", 3.0, INTEGER),
    ("/api/task-result-type-configs/{result_type}", "requires_future_scheduled_at", 1, BOOLEAN),
]


@pytest.mark.parametrize(("path", "field", "value", "rule"), LAX_VALUES)
async def test_a_boolean_or_integer_of_another_type_is_a_400_naming_the_field(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Admin,
    path: str,
    field: str,
    value: Any,
    rule: str,
) -> None:
    url = path.format(**await _ids(session_factory))
    before = await _rows(session_factory)
    response = await client.patch(url, json={field: value}, headers=admin.headers)
    assert response.status_code == 400
    assert response.json() == refusal(field, rule)
    assert await _rows(session_factory) == before


async def _rows(factory: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with session_scope(factory) as session:
        commerces = (await session.scalars(select(Commerce))).all()
        result_types = (await session.scalars(select(ResultType))).all()
        return [(c.id, c.is_active, c.updated_at) for c in commerces] + [
            (rt.id, rt.position, rt.requires_future_scheduled_at, rt.updated_at)
            for rt in result_types
        ]


async def test_overlap_seconds_is_a_json_integer(client: httpx.AsyncClient, admin: Admin) -> None:
    created = await client.post(
        "/api/dispatch-configs",
        json={"channel": "CALLCENTER", "provider": "MOCK"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    rotate = f"/api/dispatch-configs/{created.json()['id']}/rotate-secret"
    for value in (True, "60", 60.0):
        response = await client.post(rotate, json={"overlap_seconds": value}, headers=admin.headers)
        assert response.status_code == 400
        assert response.json() == refusal("overlap_seconds", INTEGER)


# --- every GET route refuses a parameter it does not read -------------------------------------


def _get_routes(app: FastAPI) -> list[APIRoute]:
    routes = [
        context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]
    return [
        r
        for r in routes
        if r.path.startswith("/api/") and "GET" in r.methods  # the panel is HTML, not the API
    ]


def _concrete(path: str) -> str:
    """The route's path with a fresh UUID for every path parameter (all of them are ids)."""
    parts = path.split("/")
    return "/".join(
        str(uuid.uuid4()) if p.startswith("{") and p.endswith("}") else p for p in parts
    )


async def _headers_for(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Admin,
) -> dict[str, dict[str, str]]:
    """API key for the integration routes; an ADMIN's bearer token for everything else."""
    person = await add_person(session_factory, admin.tenant_id, "ADMIN")
    return {"key": admin.headers, "bearer": await bearer(client, person)}


async def test_every_get_route_refuses_an_unknown_parameter(
    app: FastAPI,
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Admin,
) -> None:
    credentials = await _headers_for(client, session_factory, admin)
    routes = _get_routes(app)
    assert len(routes) >= 20
    for route in routes:
        kind = "key" if route.path.startswith("/api/integration/") else "bearer"
        response = await client.get(
            _concrete(route.path), params={"unknown_filter": "1"}, headers=credentials[kind]
        )
        assert response.status_code == 400, (route.path, response.text)
        assert response.json() == refusal("unknown_filter", UNKNOWN_PARAMETER), route.path


async def test_every_paged_list_takes_limit_as_per_page(
    app: FastAPI,
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    admin: Admin,
    path_ids: dict[str, str],
) -> None:
    credentials = await _headers_for(client, session_factory, admin)
    paged = [r for r in _get_routes(app) if "limit" in (declared_query_names(r) or ())]
    assert len(paged) >= 10
    for route in paged:
        kind = "key" if route.path.startswith("/api/integration/") else "bearer"
        headers = credentials[kind]
        path = route.path.format(**path_ids)
        by_limit = await client.get(path, params={"limit": "1"}, headers=headers)
        by_per_page = await client.get(path, params={"per_page": "1"}, headers=headers)
        assert by_limit.status_code == 200, (route.path, by_limit.text)
        assert by_limit.json() == by_per_page.json(), route.path
        assert by_limit.json()["meta"]["limit"] == 1
        conflict = await client.get(path, params={"limit": "1", "per_page": "2"}, headers=headers)
        assert conflict.status_code == 400, route.path
        assert conflict.json()["details"][0]["field"] == "limit"


async def test_a_query_flag_is_true_or_false(client: httpx.AsyncClient, admin: Admin) -> None:
    for value in ("true", "false"):
        response = await client.get(
            "/api/activity-results", params={"include_superseded": value}, headers=admin.headers
        )
        assert response.status_code == 200
    for value in ("1", "yes", "on", "True"):
        response = await client.get(
            "/api/activity-results", params={"include_superseded": value}, headers=admin.headers
        )
        assert response.status_code == 400
        assert response.json() == refusal("include_superseded", FLAG_RULE)


# --- rules the schema documents, refused as it says ------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"email": "not-an-email", "role": "VIEWER"}, "email", "must be an email address"),
        ({"email": "a@b", "role": "VIEWER"}, "email", "must be an email address"),
        ({"email": "0@.", "role": "VIEWER"}, "email", "must be an email address"),
        ({"email": "a@b..c", "role": "VIEWER"}, "email", "must be an email address"),
        (
            {"email": "new@example.com", "password": "short", "role": "VIEWER"},
            "password",
            "must be at least 8 characters",
        ),
    ],
)
async def test_a_member_body_is_refused_as_its_schema_says(
    client: httpx.AsyncClient, admin: Admin, body: dict[str, str], field: str, rule: str
) -> None:
    response = await client.post("/api/users", json=body, headers=admin.headers)
    assert response.status_code == 400
    assert response.json() == refusal(field, rule)


@pytest.mark.parametrize("name", ["X-Token\n", "x token", "-token", "x" * 65])
async def test_a_header_name_outside_the_pattern_is_refused(
    client: httpx.AsyncClient, admin: Admin, name: str
) -> None:
    body = {"channel": "CALLCENTER", "provider": "MOCK", "auth_header_name": name}
    response = await client.post("/api/dispatch-configs", json=body, headers=admin.headers)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "auth_header_name"


# --- a dispatch config's paired fields: the schema says what the server does ------------------


def _verdict(document: dict[str, Any], schema: str, body: dict[str, Any]) -> bool:
    ref = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    return bool(jsonschema_rs.validator_for(ref).is_valid(body))


PUBLIC_URL = "https://93.184.216.34/taskbridge/tasks"
"""A public address written as an IP, so the endpoint check needs no name lookup."""


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({"provider": "WEBHOOK"}, False),
        ({"provider": "WEBHOOK", "endpoint_url": None}, False),
        ({"provider": "WEBHOOK", "endpoint_url": PUBLIC_URL}, True),
        ({"provider": "MOCK"}, True),
        ({"provider": "MOCK", "auth_header_name": "x-token"}, False),
        ({"provider": "MOCK", "auth_header_name": "x-token", "auth_header_value": None}, False),
        ({"provider": "MOCK", "auth_header_name": None, "auth_header_value": "v"}, False),
        ({"provider": "MOCK", "auth_header_name": None, "auth_header_value": None}, True),
        ({"provider": "MOCK", "auth_header_name": "x-token", "auth_header_value": "v"}, True),
    ],
)
async def test_a_new_configs_paired_fields_are_declared_as_refused(
    client: httpx.AsyncClient, admin: Admin, body: dict[str, Any], accepted: bool
) -> None:
    document = (await client.get("/openapi.json")).json()
    body = {"channel": "CALLCENTER", **body}
    assert _verdict(document, "DispatchConfigCreate", body) is accepted
    response = await client.post("/api/dispatch-configs", json=body, headers=admin.headers)
    assert response.status_code == (201 if accepted else 400), response.text


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ({"auth_header_name": None}, True),
        ({"auth_header_name": None, "auth_header_value": None}, True),
        ({"auth_header_name": None, "auth_header_value": "v"}, False),
        ({"auth_header_name": "x-other", "auth_header_value": "w"}, True),
    ],
)
async def test_removing_the_auth_header_is_declared_as_taking_no_value(
    client: httpx.AsyncClient, admin: Admin, body: dict[str, Any], accepted: bool
) -> None:
    document = (await client.get("/openapi.json")).json()
    assert _verdict(document, "DispatchConfigUpdate", body) is accepted
    created = await client.post(
        "/api/dispatch-configs",
        json={
            "channel": "CALLCENTER",
            "provider": "MOCK",
            "auth_header_name": "x-token",
            "auth_header_value": "v",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    config = f"/api/dispatch-configs/{created.json()['id']}"
    response = await client.patch(config, json=body, headers=admin.headers)
    assert response.status_code == (200 if accepted else 400), response.text
    shown = (await client.get(config, headers=admin.headers)).json()
    expected = "x-token" if not accepted else body["auth_header_name"]
    assert shown["authHeaderName"] == expected
