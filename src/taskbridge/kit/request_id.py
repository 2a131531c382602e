"""Request ids: one per request, so a client's report, an error body and the log lines of the
request can be matched.

The id is the client's ``X-Request-ID`` when it is well formed (a proxy's id, say nginx's
``$request_id``), else a new uuid4 in hex. It is bound in structlog's context variables while the
request is handled, so every log line written meanwhile, structlog's or the standard library's
(uvicorn's access line, SQLAlchemy), carries it as ``request_id``; it is returned in the
``x-request-id`` response header and in every error body (``requestId``, see
:func:`taskbridge.errors.error_response`).
"""

from __future__ import annotations

import random
import re
from time import perf_counter
from typing import TYPE_CHECKING

import structlog
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from taskbridge.kit.metrics import HttpMetrics

REQUEST_ID_HEADER = "x-request-id"
_HEADER = REQUEST_ID_HEADER.encode()
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""A client's id is kept only when it cannot forge log lines or bloat a body."""
_WELL_FORMED_BYTES = re.compile(WELL_FORMED.pattern.encode())
_LOG_KEY = "request_id"
_VERSION_MASK, _VERSION_4 = 0xF000 << 64, 0x4000 << 64
_VARIANT_MASK, _VARIANT_RFC_4122 = 0xC000 << 48, 0x8000 << 48


def new_request_id() -> str:
    """A random uuid4 in hex, as ``uuid.uuid4().hex`` but from the process's generator: an id
    must be unique, not unguessable, and ``uuid4``'s system call for entropy is measurable on the
    configs fast path (seeded per process, and again after a fork, by :mod:`random`)."""
    bits = random.getrandbits(128)
    bits = (bits & ~_VERSION_MASK) | _VERSION_4
    bits = (bits & ~_VARIANT_MASK) | _VARIANT_RFC_4122
    return f"{bits:032x}"


def current_request_id() -> str | None:
    """The id of the request this code runs for; None outside any request."""
    value = structlog.contextvars.get_contextvars().get(_LOG_KEY)
    return value if isinstance(value, str) else None


def given_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The client's ``X-Request-ID`` (the first one) if it is well formed."""
    for name, value in headers:
        if name == _HEADER:
            return value.decode("ascii") if _WELL_FORMED_BYTES.fullmatch(value) else None
    return None


class RequestIds:
    """The outermost layer, pure ASGI: binds and returns the request's id and, with ``metrics``,
    counts and times the answer (:class:`taskbridge.kit.metrics.HttpMetrics`).

    Both in one layer because every request pays for each layer: an extra coroutine call and a
    send wrapper per request measured ≈40 % of the configs fast path's throughput. So one scope
    pass, one send wrapper, which notes the status as it adds the header.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        request_id = given_request_id(scope["headers"]) or new_request_id()
        header = (_HEADER, request_id.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: a response may reuse its headers list (a cached answer).
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(**{_LOG_KEY: request_id})
        metrics = self.metrics
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Rendered as a 500 by Starlette's error middleware inside this layer, which then
            # raises again (a response already begun keeps its status).
            if metrics is not None:
                metrics.observe(scope, status or 500, perf_counter() - started)
            raise
        if metrics is not None and status:  # nothing answered: the client went away first
            metrics.observe(scope, status, perf_counter() - started)
        # Not in a ``finally``: when the app raises, uvicorn logs the traceback after this call
        # returns, and that line should carry the id too. The request's task (uvicorn runs one
        # per request) ends right after, taking the binding with it.
        structlog.contextvars.reset_contextvars(**tokens)


def add_request_ids(app: Starlette, metrics: HttpMetrics | None = None) -> None:
    """Make :class:`RequestIds` (counting into ``metrics``) the outermost layer of ``app``:
    outside even Starlette's ``ServerErrorMiddleware``, so the 500 it renders, and the traceback
    logged then, carry the id (``add_middleware`` would place it inside)."""
    build = app.build_middleware_stack

    def build_with_request_ids() -> ASGIApp:
        return RequestIds(build(), metrics)

    app.build_middleware_stack = build_with_request_ids  # type: ignore[method-assign]
