"""Typed errors and the one handler that renders the contract's error body."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from taskbridge.kit.outage import (
    DRIVER_ERRORS,
    RETRY_AFTER_SECONDS,
    Outage,
    Trouble,
    database_trouble,
    outage_of,
)
from taskbridge.kit.request_id import current_request_id

log = structlog.get_logger(__name__)


class AppError(Exception):
    """An error with a status code and a message a client can act on."""

    status_code = 500
    headers: dict[str, str] | None = None

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(AppError):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        if field is not None:
            message = f"{field}: {message}"
            extra.setdefault("details", [{"field": field, "message": message}])
        super().__init__(message, **extra)


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class Gone(AppError):
    status_code = 410


class PayloadTooLarge(AppError):
    status_code = 413


class UnprocessableEntity(AppError):
    status_code = 422


class TooManyRequests(AppError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


def error_body(status_code: int, message: str, **extra: Any) -> dict[str, Any]:
    """``{statusCode, error, message}`` plus the named extras."""
    return {
        "statusCode": status_code,
        "error": HTTPStatus(status_code).phrase,
        "message": message,
        **extra,
    }


def error_response(status_code: int, message: str, **extra: Any) -> JSONResponse:
    """The contract body as a response, with the id of the request being handled (``requestId``;
    none outside a request, as for the refusals ``serve``'s protocol answers itself)."""
    body = error_body(status_code, message, **extra)
    request_id = current_request_id()
    if request_id is not None:
        body["requestId"] = request_id
    return JSONResponse(body, status_code=status_code)


_LOCATION_ROOTS = {"body", "query", "path", "header", "cookie"}


def field_path(loc: Sequence[int | str]) -> str:
    """Pydantic's ``("body", "task_result", "result")`` as ``task_result.result``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATION_ROOTS:
        parts = parts[1:]
    return ".".join(parts) or "body"


_BOUNDS = {
    "greater_than_equal": ("must be at least", "ge"),
    "less_than_equal": ("must be at most", "le"),
    "greater_than": ("must be greater than", "gt"),
    "less_than": ("must be less than", "lt"),
}


def describe_rule(error: dict[str, Any]) -> str:
    """A short sentence for one pydantic error, in the contract's words."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "enum" or kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be one of {expected}"
    if kind == "json_invalid":
        return f"malformed JSON ({ctx.get('error', 'invalid')})"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "is invalid")))
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters"
    if kind in _BOUNDS:
        sentence, bound = _BOUNDS[kind]
        return f"{sentence} {ctx.get(bound)}"
    message = str(error.get("msg", "is invalid"))
    return message[:1].lower() + message[1:]


def validation_failure(errors: Iterable[dict[str, Any]]) -> BadRequest:
    """One 400 naming every offending field by its dotted path."""
    details = [{"field": field_path(e.get("loc", ())), "message": describe_rule(e)} for e in errors]
    details = [{"field": d["field"], "message": f"{d['field']}: {d['message']}"} for d in details]
    message = details[0]["message"] if details else "invalid request"
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return BadRequest(message, details=details)


def app_error_response(exc: AppError) -> JSONResponse:
    """The answer to ``exc``: its status, the contract body, its headers."""
    response = error_response(exc.status_code, exc.message, **exc.extra)
    response.headers.update(exc.headers or {})
    return response


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return app_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    failure = validation_failure(exc.errors())
    return error_response(400, failure.message, **failure.extra)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = {404: "Route not found", 405: "Method not allowed"}.get(
        exc.status_code, str(exc.detail)
    )
    response = error_response(exc.status_code, message)
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        # Routing's ``Allow`` names the methods of the first route matching the path; a path
        # served by several routes (GET and POST on a collection) accepts all of theirs.
        path = request.scope["path"]
        allowed = {
            method
            for route in iter_route_contexts(request.app.routes)
            if route.methods and route.path_regex.match(path)
            for method in route.methods
        }
        if allowed:
            response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    return failure_response(outage_of(request.app.state.session_factory), exc, request.url.path)


def failure_response(outage: Outage, exc: BaseException, path: str) -> JSONResponse:
    """A 503 when ``exc`` says the database cannot answer now (counted in ``outage``), else the
    500 of an unexpected error, logged with the request's id."""
    trouble = database_trouble(exc)  # possibly wrapped in an error of another type
    if trouble is not None:
        outage.refused(trouble, exc, path=path)
        return _database_unavailable(trouble)
    # The request's id (kit.request_id) is in the body, the header and this log line; the message
    # keeps it too, as it did before the body had a ``requestId``.
    request_id = current_request_id() or uuid.uuid4().hex
    log.error("unexpected_error", request_id=request_id, path=path, exc_info=exc)
    return error_response(500, f"Internal error (request id {request_id})")


OVERLOADED = "Service temporarily overloaded; retry shortly"


def pool_exhausted(path: str) -> JSONResponse:
    """No database connection came free in time: the client may retry, nothing was written."""
    log.warning("database_pool_exhausted", path=path)
    response = error_response(503, OVERLOADED)
    response.headers["Retry-After"] = "1"
    return response


async def _pool_exhausted(request: Request, _exc: Exception) -> JSONResponse:
    return pool_exhausted(request.url.path)


UNAVAILABLE = "Service temporarily unavailable; retry shortly"


def note_database_trouble(request: Request, exc: BaseException) -> Trouble | None:
    """Whether ``exc`` says the database is unreachable or busy; if so, counted in its outage
    (whose first refusal is the only one logged)."""
    trouble = database_trouble(exc)
    if trouble is not None:
        factory = request.app.state.session_factory
        outage_of(factory).refused(trouble, exc, path=request.url.path)
    return trouble


def retry_after(trouble: Trouble) -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS[trouble])}


def _database_unavailable(trouble: Trouble) -> JSONResponse:
    response = error_response(503, UNAVAILABLE if trouble is Trouble.UNREACHABLE else OVERLOADED)
    response.headers.update(retry_after(trouble))
    return response


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A database that cannot answer now is a 503 to retry, logged once per outage; any other
    driver error goes on to the catch-all, exactly as before."""
    trouble = note_database_trouble(request, exc)
    if trouble is None:
        raise exc
    return _database_unavailable(trouble)


async def _client_gone(request: Request, _exc: Exception) -> Response:
    """The client hung up while sending its body: nobody is left to answer."""
    log.info("client_disconnected", path=request.url.path)
    return Response(status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves in the contract body."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    for driver_error in DRIVER_ERRORS:
        app.add_exception_handler(driver_error, _database_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
