"""Inputs a fuzzer sent that used to reach the database and fail there (500): each is now a 400
in the contract body naming the field and the rule, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import Permission
from taskbridge.db import session_scope
from taskbridge.kit.pagination import MAX_PAGE, MAX_PER_PAGE
from taskbridge.kit.text import NUL_RULE
from taskbridge.models import Commerce, Operator, ResultType
from tests.admin.conftest import Admin, key_headers
from tests.error_bodies import error_body
from tests.users.support import add_person
from tests.web.support import sign_in

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1


def refusal(field: str, rule: str) -> dict[str, Any]:
    """The 400 of one offending field."""
    message = f"{field}: {rule}"
    return error_body(400, message, details=[{"field": field, "message": message}])


async def _row(factory: async_sessionmaker[AsyncSession], model: Any) -> Any:
    """The one row of ``model`` the ``acme`` world holds (the seed's first, for result types)."""
    async with session_scope(factory) as session:
        stmt = select(model)
        if model is ResultType:
            stmt = stmt.where(ResultType.code == "SALE_COMPLETED")
        return (await session.scalars(stmt)).one()


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}


# --- 1 and 2: an explicit null for a field whose column holds no null --------------------------

NOT_NULL_FIELDS = [
    ("/api/operators", Operator, "is_active"),
    ("/api/operators", Operator, "name"),
    ("/api/commerces", Commerce, "is_active"),
    ("/api/commerces", Commerce, "name"),
    ("/api/commerces", Commerce, "metadata"),
    ("/api/task-result-type-configs", ResultType, "label"),
    ("/api/task-result-type-configs", ResultType, "requires_future_scheduled_at"),
    ("/api/task-result-type-configs", ResultType, "translations"),
    ("/api/task-result-type-configs", ResultType, "position"),
]
VALID_CHANGES = {
    Operator: {"phone": "+56 9 8765 4321", "email": "otro@example.com"},
    Commerce: {"tax_id": "76.123.456-7"},
    ResultType: {"label": "Vendido"},
}


@pytest.mark.parametrize(("base", "model", "field"), NOT_NULL_FIELDS)
async def test_patching_null_into_a_not_null_field_is_a_400_that_changes_nothing(
    client: httpx.AsyncClient,
    admin: Admin,
    session_factory: async_sessionmaker[AsyncSession],
    base: str,
    model: Any,
    field: str,
) -> None:
    """Valid changes beside the null are not applied either: the request is refused whole."""
    before = _columns(await _row(session_factory, model))
    body = {**VALID_CHANGES[model], field: None}
    response = await client.patch(f"{base}/{before['id']}", headers=admin.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json() == refusal(field, "must not be null")
    assert _columns(await _row(session_factory, model)) == before


async def test_sync_refuses_null_metadata_and_still_defaults_it_when_absent(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    item = {"external_id": "COM-002", "name": "Kiosko"}
    refused = await client.post(
        "/api/commerces/sync", headers=admin.headers, json={"items": [{**item, "metadata": None}]}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json() == refusal("items.0.metadata", "must not be null")
    synced = await client.post("/api/commerces/sync", headers=admin.headers, json={"items": [item]})
    assert synced.status_code == 200, synced.text
    async with session_scope(session_factory) as session:
        stored = await session.scalar(select(Commerce).where(Commerce.external_id == "COM-002"))
    assert stored is not None
    assert stored.metadata_ == {}


# --- 3: page numbers past what an OFFSET can hold ------------------------------------------------


def _paged_lists(app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    """Every documented GET with a ``page`` parameter, with that parameter's schema."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] == "page":
                found.append((path, parameter["schema"]))
    return found


async def test_every_paged_list_documents_and_enforces_a_page_bound(
    app: FastAPI, client: httpx.AsyncClient, admin: Admin, path_ids: dict[str, str]
) -> None:
    paged = _paged_lists(app)
    assert len(paged) >= 9, paged
    assert MAX_PAGE * MAX_PER_PAGE <= INT32_MAX, "an offset must fit every backend's integer"
    for template, schema in paged:
        path = template.format(**path_ids)
        assert schema.get("maximum") == MAX_PAGE, (path, schema)
        deepest = await client.get(
            path, headers=admin.headers, params={"page": MAX_PAGE, "per_page": MAX_PER_PAGE}
        )
        assert deepest.status_code == 200, (path, deepest.text)
        assert deepest.json()["data"] == []
        for page in (MAX_PAGE + 1, 2274138347, INT64_MAX, INT64_MAX + 1):
            response = await client.get(path, headers=admin.headers, params={"page": page})
            assert response.status_code == 400, (path, page, response.text)
            assert response.json() == refusal("page", f"must be at most {MAX_PAGE}"), path


# --- 4: integers past what their column holds ----------------------------------------------------


async def test_a_position_past_the_integer_column_is_a_400_that_changes_nothing(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    before = _columns(await _row(session_factory, ResultType))
    path = f"/api/task-result-type-configs/{before['id']}"
    for position in (INT32_MAX + 1, INT64_MAX, INT64_MAX + 1):
        response = await client.patch(path, headers=admin.headers, json={"position": position})
        assert response.status_code == 400, (position, response.text)
        assert response.json() == refusal("position", f"must be at most {INT32_MAX}")
    assert _columns(await _row(session_factory, ResultType)) == before
    largest = await client.patch(path, headers=admin.headers, json={"position": INT32_MAX})
    assert largest.status_code == 200, largest.text
    assert largest.json()["position"] == INT32_MAX


# --- 5: NUL in a query string ---------------------------------------------------------------------


def _query_parameters(app: FastAPI) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, name, schema) of every documented query parameter of every route."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    found.append((method.upper(), path, parameter["name"], parameter["schema"]))
    return found


def _is_free_text(schema: dict[str, Any]) -> bool:
    """A string parameter without a pattern or format: NUL is refused for holding NUL."""
    choices = schema.get("anyOf", [schema])
    return any(
        c.get("type") == "string" and "pattern" not in c and "format" not in c for c in choices
    )


async def test_nul_in_any_query_parameter_is_a_400_naming_it(
    app: FastAPI, client: httpx.AsyncClient, admin: Admin, path_ids: dict[str, str]
) -> None:
    parameters = _query_parameters(app)
    free_text = [(m, p, n) for m, p, n, s in parameters if _is_free_text(s)]
    assert {(p, n) for _, p, n in free_text} >= {
        ("/api/integration/activities/tasks", "external_commerce_id"),
        ("/api/activities", "external_commerce_id"),
        ("/api/activities", "external_operator_id"),
        ("/api/commerces", "q"),
        ("/api/operators", "q"),
    }
    for method, template, name, schema in parameters:
        path = template.format(**path_ids)
        for value in ("\x00", "COM-001\x00"):
            response = await client.request(
                method, path, headers=admin.headers, params={name: value}
            )
            assert response.status_code == 400, (path, name, response.text)
            body = response.json()
            assert [d["field"] for d in body["details"]] == [name], (path, body)
            if _is_free_text(schema):
                assert body == refusal(name, NUL_RULE), (path, body)


async def test_nul_in_an_undocumented_parameter_is_refused_as_well(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    for path in ("/api/integration/me", "/api/commerces"):
        response = await client.get(path, headers=admin.headers, params={"note": "a\x00b"})
        assert response.status_code == 400, (path, response.text)
        assert response.json() == refusal("note", NUL_RULE)


async def test_nul_in_the_query_comes_after_401_and_403(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    nul = {"q": "\x00"}
    missing = await client.get("/api/commerces", params=nul)
    assert missing.status_code == 401, missing.text
    unrelated = await key_headers(session_factory, admin.tenant_id, Permission.VIEW_ACTIVITIES)
    refused = await client.get("/api/commerces", headers=unrelated, params=nul)
    assert refused.status_code == 403, refused.text


async def test_nul_in_a_panel_query_is_a_400_page(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    person = await add_person(session_factory, admin.tenant_id, "ADMIN")
    assert (await sign_in(client, person.email, "correct horse battery")).status_code == 303
    for path, params in [
        ("/admin/tasks", {"commerce": "\x00"}),
        ("/admin/tasks", {"operator": "OP\x00"}),
        ("/admin/commerces", {"q": "\x00"}),
        ("/admin/operators", {"q": "\x00"}),
        ("/admin/results", {"code": "\x00"}),
    ]:
        page = await client.get(path, params=params)
        assert page.status_code == 400, (path, page.text[:500])
        # The rule, in the person's language (the tenant's: Spanish).
        assert "no puede contener el carácter NUL" in page.text, path


async def test_a_panel_page_number_past_the_bound_shows_the_last_allowed_page(
    client: httpx.AsyncClient, admin: Admin, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    person = await add_person(session_factory, admin.tenant_id, "ADMIN")
    assert (await sign_in(client, person.email, "correct horse battery")).status_code == 303
    for path in ("/admin/tasks", "/admin/results", "/admin/commerces", "/admin/operators"):
        page = await client.get(path, params={"page": str(INT64_MAX)})
        assert page.status_code == 200, (path, page.text[:500])


async def test_a_null_is_refused_before_the_row_is_looked_up(
    client: httpx.AsyncClient, admin: Admin
) -> None:
    """The body is invalid whatever the id names: 400, not 404, and no statement is needed."""
    response = await client.patch(
        f"/api/operators/{uuid.uuid4()}", headers=admin.headers, json={"is_active": None}
    )
    assert response.status_code == 400, response.text
    assert response.json() == refusal("is_active", "must not be null")
