"""The served ``/openapi.json`` says what the server does: integrators generate clients from it.

Half of these tests read the document (one ``Error`` schema for every error, no FastAPI 422,
security and headers, operation ids, bodies); the other half send requests and check that each
answer's status is one the document lists for that operation, with a body matching ``Error``.
Operations come from the document and routes from ``app.routes``: a new route is checked too.
"""

from __future__ import annotations

import ast
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import taskbridge
from taskbridge.auth.permissions import Permission
from taskbridge.db import session_scope
from taskbridge.kit.body import body_model_of
from taskbridge.kit.openapi import ERROR_REF
from tests.factories import World, build_world, create_key
from tests.users.support import add_person, bearer

Operation = tuple[str, str, dict[str, Any]]
"""(method, path template, operation object)"""

OPERATION_ID = re.compile(r"^[a-z][A-Za-z0-9]+$")
INTEGRATION = "/api/integration/"
PUBLIC = {("post", "/api/auth/login"), ("post", "/api/auth/refresh"), ("post", "/api/auth/logout")}
BEARER_ONLY = {
    ("get", "/api/auth/me"),
    ("post", "/api/auth/change-password"),
    ("get", "/api/auth/invitations"),
    ("post", "/api/auth/invitations/accept"),
}
NOT_FOUND_BY_BODY = {
    ("post", "/api/integration/activity-results/tasks"),  # the activity, the commerce
    ("post", "/api/activities/tasks"),  # the commerce, the operator
}
REQUIRES_PERMISSION = re.compile(r"Requires the permission `([A-Z_]+)`")


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def error_statuses(operation: dict[str, Any]) -> list[int]:
    return [int(s) for s in operation["responses"] if int(s) >= 400]


def error_validator(document: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({"$ref": ERROR_REF, "components": document["components"]})


def assert_documented(document: dict[str, Any], response: httpx.Response) -> None:
    """The answer's status is listed for its operation, an error's body is an ``Error``, and
    the headers the document marks required are there."""
    method, path = response.request.method.lower(), response.request.url.path
    templates = [
        t
        for t, item in document["paths"].items()
        if method in item and re.fullmatch(_pattern(t), path)
    ]
    template = min(templates, key=lambda t: t.count("{"))  # /api/users/invitations, not {user_id}
    operation = document["paths"][template][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, (method, template, response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert error_validator(document).is_valid(body), (method, template, body)
        assert body["statusCode"] == response.status_code
    for name, spec in documented.get("headers", {}).items():
        if spec.get("required"):
            assert name in response.headers, (method, template, name)


def _pattern(template: str) -> str:
    return re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))


def concrete(path: str) -> str:
    """``path`` with an id (of nothing) for each of its parameters."""
    return re.sub(r"{[^}]+}", str(uuid.uuid4()), path)


# --- the document alone ---------------------------------------------------------------------


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    """Checked against the OpenAPI 3.1 meta-schema by schemathesis (the fuzzer reads it too)."""
    assert document["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(document).validate()


def test_fastapis_422_validation_error_is_gone(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(document)
    assert "ValidationError" not in document["components"]["schemas"]
    with_422 = [(m, p) for m, p, op in operations(document) if "422" in op["responses"]]
    assert with_422 == [("post", "/api/integration/activity-results/tasks")]


def test_every_error_response_is_an_error_with_a_valid_example(document: dict[str, Any]) -> None:
    validator = error_validator(document)
    for method, path, operation in operations(document):
        assert error_statuses(operation), (method, path)
        for status in error_statuses(operation):
            content = operation["responses"][str(status)]["content"]
            assert list(content) == ["application/json"], (method, path, status)
            assert content["application/json"]["schema"] == {"$ref": ERROR_REF}
            example = content["application/json"]["example"]
            assert validator.is_valid(example), (method, path, status, example)
            assert example["statusCode"] == status


def test_the_statuses_every_route_can_answer_are_listed(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses, statuses = operation["responses"], set(error_statuses(operation))
        where = (method, path)
        assert {400, 408, 431, 500, 503} <= statuses, where  # every route: query, transport
        assert responses["503"]["headers"]["Retry-After"]["required"] is True
        assert responses["500"]["headers"]["x-request-id"]["required"] is True
        assert (404 in statuses) == ("{" in path or where in NOT_FOUND_BY_BODY), where
        assert ("requestBody" in operation) == (413 in statuses), where
        rate_limited = {"apiKey": []} in operation.get("security", [])  # keys and tenant callers
        throttled = path in {"/api/auth/login", "/api/auth/change-password"}
        assert (429 in statuses) == (rate_limited or throttled), where
        if 429 in statuses:
            assert responses["429"]["headers"]["Retry-After"]["required"] is True
        if rate_limited:
            assert {"RateLimit-Policy", "RateLimit"} <= set(responses["429"]["headers"]), where
            assert (
                "Rate limit exceeded"
                in responses["429"]["content"]["application/json"]["example"]["message"]
            )
        assert 415 not in statuses, "bodies are read whatever their content type"


def test_operation_ids_are_short_stable_and_unique(document: dict[str, Any]) -> None:
    ids = [operation.get("operationId") for _, _, operation in operations(document)]
    assert all(isinstance(i, str) and OPERATION_ID.fullmatch(i) for i in ids), ids
    assert len(ids) == len(set(ids)), sorted(ids)
    integration = {
        (m, p): op["operationId"] for m, p, op in operations(document) if p.startswith(INTEGRATION)
    }
    assert integration == {
        ("get", "/api/integration/task-result-type-configs"): "listTaskResultTypeConfigs",
        ("get", "/api/integration/activities/tasks"): "listTasks",
        ("get", "/api/integration/activities/tasks/{activity_id}"): "getTask",
        ("post", "/api/integration/activity-results/tasks"): "submitTaskResult",
        ("get", "/api/integration/me"): "getCurrentApiKey",
        ("get", "/api/integration/events"): "listEvents",
    }


def test_operation_ids_are_set_on_the_routes_not_generated(app: FastAPI) -> None:
    """Explicit on each decorator: renaming a function must not rename a client's method."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            assert route.operation_id is not None, route.path


def test_security_follows_what_each_route_accepts(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header"}
    assert schemes["apiKey"]["name"] == "x-api-key"
    assert (schemes["bearer"]["type"], schemes["bearer"]["scheme"]) == ("http", "bearer")
    for method, path, operation in operations(document):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        security = operation.get("security")
        if (method, path) in PUBLIC:
            assert security is None, path
            assert (401 in error_statuses(operation)) == (not path.endswith("/logout")), path
        elif path.startswith(INTEGRATION):
            assert security == [{"apiKey": []}], path
        elif (method, path) in BEARER_ONLY:
            assert security == [{"bearer": []}], path
        else:
            assert security == [{"apiKey": []}, {"bearer": []}], path
            assert "x-tenant-id" in headers, path
        if security:
            assert 401 in error_statuses(operation), (method, path)
        if REQUIRES_PERMISSION.search(operation.get("description", "")):
            assert 403 in error_statuses(operation), (method, path)


def test_the_headers_that_matter_are_declared(document: dict[str, Any]) -> None:
    configs = document["paths"]["/api/integration/task-result-type-configs"]["get"]
    assert {p["name"] for p in configs["parameters"]} == {"Accept-Language", "If-None-Match"}
    for status in ("200", "304"):
        assert configs["responses"][status]["headers"]["ETag"]["required"] is True
    submit = document["paths"]["/api/integration/activity-results/tasks"]["post"]
    assert [p["name"] for p in submit["parameters"]] == ["Idempotency-Key"]
    assert "Idempotent-Replayed" in submit["responses"]["201"]["headers"]


def test_every_json_body_the_server_reads_is_documented(
    app: FastAPI, document: dict[str, Any]
) -> None:
    read = 0
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        models = [body_model_of(d.call) for d in route.dependant.dependencies]
        model = next((m for m in models if m is not None), None)
        if model is None:
            continue
        read += 1
        for method in route.methods:
            body = document["paths"][context.path_format][method.lower()]["requestBody"]
            assert body["required"] is True, route.path
            assert body["content"] == {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            }
            assert model.__name__ in document["components"]["schemas"]
    assert read >= 19, "JsonBody routes no longer recognised"


def test_every_key_an_error_can_carry_is_in_the_error_schema(document: dict[str, Any]) -> None:
    """Every keyword passed to an error (``Conflict(..., existingActivityId=...)``) or to
    ``error_response`` in the package is a property of ``Error``; ``field`` becomes ``details``."""
    documented = set(document["components"]["schemas"]["Error"]["properties"])
    errors = {"BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "AppError"}
    errors |= {"UnprocessableEntity", "TooManyRequests", "PayloadTooLarge", "error_response"}
    sent = set()
    for source in Path(taskbridge.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and _called(node) in errors:
                sent |= {k.arg for k in node.keywords if k.arg is not None}
    sent -= {"field", "retry_after", "status_code"}  # arguments, not keys of the body
    assert sent, "the scan found no extras: it no longer sees the calls"
    assert sent <= documented, sent - documented


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


# --- the document against the server ---------------------------------------------------------


async def test_every_operation_with_security_refuses_a_request_without_credentials(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    for method, path, operation in operations(document):
        response = await client.request(method, concrete(path), json={})
        assert_documented(document, response)
        assert (response.status_code == 401) == ("security" in operation or "refresh" in path)


async def test_integration_routes_take_an_api_key_only_and_auth_routes_a_bearer_token_only(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "ADMIN")
    token = await bearer(client, person)
    for method, path, operation in operations(document):
        if operation.get("security") == [{"apiKey": []}]:
            response = await client.request(method, concrete(path), headers=token, json={})
        elif operation.get("security") == [{"bearer": []}]:
            response = await client.request(method, concrete(path), headers=world.headers)
        else:
            continue
        assert_documented(document, response)
        assert response.status_code == 401, (method, path)


async def test_a_key_without_the_permission_gets_the_documented_403(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(session_factory)
    async with session_scope(session_factory) as session:
        key = await create_key(session, world.tenant.id, Permission.SYNC_OPERATORS)
    checked = 0
    for method, path, operation in operations(document):
        required = REQUIRES_PERMISSION.search(operation.get("description", ""))
        if required is None or required[1] == Permission.SYNC_OPERATORS:
            continue
        response = await client.request(method, concrete(path), headers={"x-api-key": key}, json={})
        assert_documented(document, response)
        assert response.json()["requiredPermission"] == required[1], (method, path)
        checked += 1
    assert checked >= 40


async def test_result_submission_answers_each_documented_error(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(session_factory)
    url = "/api/integration/activity-results/tasks"
    body = _submission(world)
    answers = [
        await client.post(url, headers=world.headers, json={**body, "status": "DONE"}),
        await client.post(url, headers=world.headers, json={**body, "activity_id": _ghost()}),
        await client.post(url, headers=world.headers, content=b"{" + b" " * 1_100_000 + b"}"),
        await client.post(url, headers={**world.headers, "Idempotency-Key": ""}, json=body),
        await client.post(url, params={"q": "\x00"}, headers=world.headers, json=body),
    ]
    keyed = {**world.headers, "Idempotency-Key": "visit-42"}
    first = await client.post(url, headers=keyed, json=body)
    replayed = await client.post(url, headers=keyed, json=body)
    answers += [
        first,
        replayed,
        await client.post(url, headers=keyed, json={**body, "status": "NOT_EFFECTIVE"}),
        await client.post(url, headers=world.headers, json={**body, "status": "NOT_EFFECTIVE"}),
    ]
    statuses = [a.status_code for a in answers]
    assert statuses == [400, 404, 413, 400, 400, 201, 201, 422, 409], [a.text for a in answers]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    for answer in answers:
        assert_documented(document, answer)


async def test_task_and_configs_answers_are_documented(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(session_factory)
    configs = "/api/integration/task-result-type-configs"
    listed = await client.get(configs, headers={**world.headers, "Accept-Language": "en"})
    etag = listed.headers["ETag"]
    answers = [
        listed,
        await client.get(configs, headers={**world.headers, "If-None-Match": etag}),
        await client.get("/api/integration/activities/tasks/not-a-uuid", headers=world.headers),
        await client.get(f"/api/integration/activities/tasks/{_ghost()}", headers=world.headers),
        await client.get("/api/integration/activities/tasks?page=0", headers=world.headers),
        await client.get("/api/integration/me?q=%00", headers=world.headers),
    ]
    assert [a.status_code for a in answers] == [200, 304, 400, 404, 400, 400]
    for answer in answers:
        assert_documented(document, answer)


async def test_sign_in_and_bearer_refusals_are_documented(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(session_factory)
    person = await add_person(session_factory, world.tenant.id, "ADMIN")
    token = await bearer(client, person)
    client.cookies.clear()  # the refresh cookie of that sign-in
    no_tenant = {"authorization": token["authorization"]}
    elsewhere = {**no_tenant, "x-tenant-id": str(uuid.uuid4())}
    wrong = {"email": person.email, "password": "not the password"}
    failures = [await client.post("/api/auth/login", json=wrong) for _ in range(6)]
    answers = [
        await client.get("/api/api-keys", headers=no_tenant),
        await client.get("/api/api-keys", headers=elsewhere),
        await client.get("/api/api-keys", headers=token),
        await client.post("/api/auth/refresh"),
        *failures,
    ]
    assert [a.status_code for a in answers] == [400, 403, 200, 401, *[401] * 5, 429]
    assert answers[0].json()["details"][0]["field"] == "x-tenant-id"
    assert int(failures[-1].headers["Retry-After"]) > 0
    for answer in answers:
        assert_documented(document, answer)


def _ghost() -> str:
    return str(uuid.uuid4())


def _submission(world: World) -> dict[str, Any]:
    return {
        "activity_id": str(world.task.id),
        "commerce_external_id": "COM-001",
        "occurred_at": "2026-04-11T10:30:00Z",
        "status": "EFFECTIVE",
        "task_result": {"result": "SALE_COMPLETED"},
    }
