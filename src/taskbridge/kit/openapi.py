"""The served OpenAPI document, rewritten to say what the server does.

FastAPI documents only what it validates itself, and wrongly for this server: a 422 with
``{detail: [...]}`` on every route with parameters (the server answers 400 in the contract body),
and nothing of what dependencies and services raise. :func:`describe_operations` walks the routes
and rewrites each operation from its metadata, so a new route is documented right by default:

- 400 always (a query string holding NUL, or naming a parameter the route does not read, is
  refused on every route), with the reasons the route gives (body, path, query, the caller's
  headers); 404 for an id in the path; 413 with a body; 408 and 431 (``serve``'s bounds on a
  request's head), 500 and 503 (``Retry-After``) everywhere, as every route reads the database;
- ``x-request-id`` on every response (but 408 and 431, which ``serve`` answers before handling a
  request), and ``requestId`` in the ``Error`` examples;
- 401/403, ``security`` and header parameters from the route's authentication dependency, as the
  application describes each one (:class:`Caller`; this module knows none of them);
- every 4xx/5xx in one ``Error`` component, FastAPI's validation schemas removed;
- the body of a route that reads one through :func:`taskbridge.kit.body.JsonBody`.

What only a route knows (its 409s, a 422, a 429, headers it reads) is declared on its decorator,
with :func:`refused`, :func:`header` and :func:`response_headers`, and merged here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from taskbridge.errors import OVERLOADED, error_body
from taskbridge.kit.body import body_model_of, documented_body
from taskbridge.kit.body_limit import TOO_LARGE
from taskbridge.kit.http_protocol import HEAD_TOO_LARGE, HEAD_TOO_SLOW, MAX_HEAD_BYTES
from taskbridge.kit.request_id import WELL_FORMED
from taskbridge.kit.text import NUL_RULE

ERROR_REF = "#/components/schemas/Error"
SAMPLE_ID = "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11"
"""The id in the documented examples."""
UUID_RULE = (
    "input should be a valid UUID, invalid length: expected length 32 for simple format, found 3"
)
UNEXPECTED = "Internal error (request id 6f1c2e0b9a7d4c3e8b5a1f2d3c4b5a69)"
"""As the server words it (the id also in ``requestId`` and the header)."""
JSON = "application/json"
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")

RETRY_AFTER = {
    "description": "Seconds to wait before retrying",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
RATE_LIMIT_FIELDS = {
    "RateLimit-Policy": {
        "description": 'On a rate limit\'s refusal: the spent quota, `"<name>";q=<requests>;'
        "w=<seconds>` (draft-ietf-httpapi-ratelimit-headers)",
        "required": False,
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'On a rate limit\'s refusal: `"<name>";r=0;t=<seconds until a request '
        "is allowed>`",
        "required": False,
        "schema": {"type": "string"},
    },
}
REQUEST_ID = {
    "description": "The request's id: the client's `X-Request-ID` when well formed, else one "
    "the server made; in every log line of the request and in an error's `requestId`",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{WELL_FORMED.pattern}$"},
}
SAMPLE_REQUEST_ID = "6f1c2e0b9a7d4c3e8b5a1f2d3c4b5a69"
OVERLOAD_REQUEST_ID = {
    **REQUEST_ID,
    "required": False,
    "description": f"{REQUEST_ID['description']} (absent from `serve`'s 503 over its "
    "connection limit, answered before any request is handled)",
}
WITHOUT_REQUEST_ID = frozenset(
    {HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE}
)
"""Answered only by ``serve``'s protocol, before a request is handled: no id, no ``requestId``."""


def error_schemas(extras: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``Error`` component (and its ``ErrorDetail``): ``{statusCode, error, message}`` and
    the optional ``extras`` some errors add. Nothing else is ever sent, so nothing else is
    allowed: a new key must be documented before a client can rely on it."""
    return {
        "ErrorDetail": {
            "title": "ErrorDetail",
            "type": "object",
            "properties": {
                "field": {"type": "string", "description": "Dotted path of the field"},
                "message": {"type": "string", "description": "`<field>: <rule>`"},
            },
            "required": ["field", "message"],
            "additionalProperties": False,
        },
        "Error": {
            "title": "Error",
            "description": "The body of every error response.",
            "type": "object",
            "properties": {
                "statusCode": {"type": "integer", "minimum": 400, "maximum": 599},
                "error": {"type": "string", "description": "The HTTP reason phrase"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "description": "On a 400: every offending field",
                    "items": {"$ref": "#/components/schemas/ErrorDetail"},
                },
                "requestId": {
                    "type": "string",
                    "description": "The request's id, as in the `x-request-id` header and the "
                    "server's log; absent only from what `serve` refuses before handling a "
                    "request (408, 431, a 503 over its connection limit)",
                },
                **extras,
            },
            "required": ["statusCode", "error", "message"],
            "additionalProperties": False,
            "example": error_body(
                404, f"Task '{SAMPLE_ID}' not found", requestId=SAMPLE_REQUEST_ID
            ),
        },
    }


@dataclass(frozen=True, slots=True)
class Refusal:
    """An error a route can answer: its status, why, and the body's message and extras."""

    status: int
    description: str
    message: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Caller:
    """How the document shows an authentication dependency.

    ``schemes`` are alternatives (any one is accepted); ``headers`` are the parameters it reads;
    ``refusals`` the errors it answers itself, the most common of each status first.
    """

    schemes: tuple[str, ...]
    refusals: tuple[Refusal, ...]
    headers: tuple[dict[str, Any], ...] = ()
    permission: str | None = None


CallerOf = Callable[[object], Caller | None]
"""The application's answer to "is this dependency an authentication, and which?"."""


def refused(description: str, message: str, **extra: Any) -> dict[str, Any]:
    """A decorator ``responses`` entry for an error only the route knows, with its body."""
    return {
        "description": description,
        "content": {JSON: {"example": {"message": message, **extra}}},
    }


def header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    """An optional request header parameter."""
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def response_headers(status: int, headers: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """``openapi_extra`` documenting headers of one of the route's own responses."""
    return {"responses": {str(status): {"headers": dict(headers)}}}


def merged(*parts: Mapping[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` parts in one: objects merged key by key, lists joined."""
    result: dict[str, Any] = {}
    for part in parts:
        _merge_into(result, part)
    return result


def _merge_into(target: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(target.get(key), dict) and isinstance(value, Mapping):
            _merge_into(target[key], value)
        elif isinstance(target.get(key), list) and isinstance(value, list):
            target[key] = target[key] + value
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value


@dataclass
class _Facts:
    """What a route's metadata says about the errors it can answer."""

    callers: list[Caller] = field(default_factory=list)
    body_model: type[BaseModel] | None = None

    def permission(self) -> str | None:
        return next((c.permission for c in self.callers if c.permission), None)


def describe_operations(
    openapi: dict[str, Any],
    routes: Sequence[BaseRoute],
    *,
    security_schemes: Mapping[str, dict[str, Any]],
    error_extras: Mapping[str, dict[str, Any]],
    caller_of: CallerOf,
) -> dict[str, Any]:
    """``openapi`` with every operation's errors, security and headers as the server has them."""
    components = openapi.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas.update(error_schemas(error_extras))
    components["securitySchemes"] = dict(security_schemes)
    for route, operation in _operations(openapi, routes):
        facts = _facts(route.dependant, caller_of)
        if facts.body_model is not None and "requestBody" not in operation:
            operation["requestBody"] = documented_body(facts.body_model)["requestBody"]
        _describe(operation, facts)
    return openapi


def _operations(
    openapi: dict[str, Any], routes: Sequence[BaseRoute]
) -> Iterator[tuple[APIRoute, dict[str, Any]]]:
    """Each documented route (included routers flattened, as FastAPI documents them) with its
    operation in ``openapi``."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.include_in_schema and context.path_format:
            for method in sorted(context.methods or ()):
                yield route, openapi["paths"][context.path_format][method.lower()]


def _facts(dependant: Dependant, caller_of: CallerOf) -> _Facts:
    facts = _Facts()
    pending = list(dependant.dependencies)
    while pending:
        dependency = pending.pop(0)
        caller = caller_of(dependency.call)
        if caller is not None:
            facts.callers.append(caller)
            continue
        model = body_model_of(dependency.call)
        if model is not None:
            facts.body_model = model
        pending.extend(dependency.dependencies)
    return facts


def _describe(operation: dict[str, Any], facts: _Facts) -> None:
    responses: dict[str, Any] = dict(operation.get("responses", {}))
    if _is_fastapi_validation(responses.get("422")):
        del responses["422"]
    parameters = list(operation.get("parameters", []))
    for caller in facts.callers:
        known = {(p["name"].lower(), p["in"]) for p in parameters}
        parameters += [h for h in caller.headers if (h["name"].lower(), h["in"]) not in known]
    if parameters:
        operation["parameters"] = parameters
    schemes = [scheme for caller in facts.callers for scheme in caller.schemes]
    if schemes:
        operation["security"] = [{scheme: []} for scheme in dict.fromkeys(schemes)]
    permission = facts.permission()
    if permission:
        text = operation.get("description", "") + f"\n\nRequires the permission `{permission}`."
        operation["description"] = text.strip()
    declared = [_declared(int(s), r) for s, r in responses.items() if _is_error_status(s)]
    by_status: dict[int, list[Refusal]] = {}
    for refusal in [*declared, *_derived(operation, facts, {r.status for r in declared})]:
        by_status.setdefault(refusal.status, []).append(refusal)
    for status, refusals in by_status.items():
        responses[str(status)] = _error_response(_joined(refusals))
    operation["responses"] = {
        status: _with_request_id(status, response) for status, response in sorted(responses.items())
    }


def _with_request_id(status: str, response: dict[str, Any]) -> dict[str, Any]:
    """``response`` with the ``x-request-id`` header every answer of the application carries."""
    if status.isdigit() and int(status) in WITHOUT_REQUEST_ID:
        return response
    header = OVERLOAD_REQUEST_ID if status == str(HTTPStatus.SERVICE_UNAVAILABLE) else REQUEST_ID
    return {**response, "headers": {**response.get("headers", {}), "x-request-id": header}}


def _is_error_status(status: str) -> bool:
    return status.isdigit() and int(status) >= HTTPStatus.BAD_REQUEST


def _is_fastapi_validation(response: dict[str, Any] | None) -> bool:
    schema = ((response or {}).get("content", {}).get(JSON) or {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _declared(status: int, response: dict[str, Any]) -> Refusal:
    """An error response the route's decorator declared: its reason and, from
    :func:`refused`, its body's message and extras."""
    example = dict((response.get("content", {}).get(JSON) or {}).get("example") or {})
    message = example.pop("message", None)
    return Refusal(
        status, response.get("description") or HTTPStatus(status).phrase, message, example
    )


def _derived(operation: dict[str, Any], facts: _Facts, declared: set[int]) -> list[Refusal]:
    """The errors the route's metadata implies, after the ones it declared."""
    parameters = operation.get("parameters", [])
    path = [p["name"] for p in parameters if p["in"] == "path"]
    query = [p["name"] for p in parameters if p["in"] == "query"]
    refusals: list[Refusal] = []
    if "requestBody" in operation:
        refusals += [
            field_refusal(
                "The body is not JSON or breaks the schema (`details` names every field)",
                "body",
                "input should be an object",
            ),
            Refusal(413, "The body is over the server's size limit", TOO_LARGE),
        ]
    if path:
        refusals.append(field_refusal("A path id is malformed", path[0], UUID_RULE))
        if HTTPStatus.NOT_FOUND not in declared:  # a declared 404 names the thing: it says more
            refusals.append(Refusal(404, "An id in the path names nothing in this tenant", None))
    if query:
        reason = "A query parameter is unknown, invalid or holds NUL"
    else:
        reason = "The query string names a parameter (the route reads none) or holds NUL"
    refusals.append(field_refusal(reason, (query or ["q"])[0], NUL_RULE))
    refusals += [r for caller in facts.callers for r in caller.refusals]
    refusals += [
        Refusal(
            408, "The request's headers did not arrive in time (`taskbridge serve`)", HEAD_TOO_SLOW
        ),
        Refusal(
            431,
            f"The request line and headers are over {MAX_HEAD_BYTES // 1024} KiB "
            "(`taskbridge serve`)",
            HEAD_TOO_LARGE,
        ),
        Refusal(500, "An unexpected failure; nothing was applied", UNEXPECTED),
        Refusal(503, "The database is unavailable or busy; nothing was applied", OVERLOADED),
    ]
    return refusals


def field_refusal(reason: str, name: str, rule: str) -> Refusal:
    """A 400 naming one field, as :func:`taskbridge.errors.validation_failure` renders it."""
    message = f"{name}: {rule}"
    return Refusal(400, reason, message, {"details": [{"field": name, "message": message}]})


def _joined(refusals: list[Refusal]) -> Refusal:
    """One description for every reason (in order, each once), and the first known body."""
    reasons = list(dict.fromkeys(r.description for r in refusals))
    text = "; or ".join([reasons[0], *(r[:1].lower() + r[1:] for r in reasons[1:])])
    first = next((r for r in refusals if r.message is not None), refusals[0])
    return Refusal(first.status, text, first.message, first.extra)


def _error_response(refusal: Refusal) -> dict[str, Any]:
    """The ``Error`` response of one status, with its example and the headers it carries."""
    status = refusal.status
    message = refusal.message or HTTPStatus(status).phrase
    response: dict[str, Any] = {
        "description": refusal.description,
        "content": {
            JSON: {
                "schema": {"$ref": ERROR_REF},
                "example": _example(status, message, refusal.extra),
            }
        },
    }
    if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
        response["headers"] = {"Retry-After": RETRY_AFTER}
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        response["headers"].update(RATE_LIMIT_FIELDS)
    return response


def _example(status: int, message: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    if status in WITHOUT_REQUEST_ID:
        return error_body(status, message, **extra)
    return error_body(status, message, **extra, requestId=SAMPLE_REQUEST_ID)
