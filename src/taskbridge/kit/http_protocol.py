"""uvicorn's httptools protocol with the bounds it lacks against slow and oversized clients.

uvicorn times out only idle kept-alive connections, and every byte received restarts that timer
(uvicorn#157 still lists a request-start and a request-complete timeout as to do), so a client
trickling its headers holds a connection, and a file descriptor, forever; and httptools buffers a
head of any size. This protocol adds:

- a deadline for a request's head (counted from connecting, or from the request's first byte on a
  kept-alive connection): a started head gets the contract's 408, a connection that never sent a
  byte is closed; both are closed;
- a deadline for its body (counted from the end of the head): the connection is closed, the
  application sees a disconnect (a 408 could cross the application's own answer);
- a cap on the head's size (uvicorn's ``h11_max_incomplete_event_size``, which httptools ignores):
  431;
- beyond ``limit_concurrency``, the contract's 503 with ``Retry-After`` instead of uvicorn's plain
  text; malformed requests get the contract's 400.

Timers are armed only when a read leaves a request unfinished, so a request that arrives whole (the
usual case) costs a few attribute checks. ``taskbridge serve`` names this class in uvicorn's
``http=`` as an import string, so every worker process builds it and reads the deadlines from its
own settings, as the app factory does.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar, Final

import structlog
from uvicorn._types import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPResponseStartEvent,
    Scope,
)
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from taskbridge.config import get_settings
from taskbridge.errors import OVERLOADED, error_response

log = structlog.get_logger(__name__)

MAX_HEAD_BYTES = 32 * 1024
"""A request line and headers above this get 431 (nginx's default buffers hold 4 × 8 KiB)."""
OVERLOAD_RETRY_AFTER_SECONDS = 1
HEAD_TOO_SLOW = "Request headers not received in time"
HEAD_TOO_LARGE = "Request header fields too large"
MALFORMED = "Invalid HTTP request"


# What a connection waits to receive; a deadline runs only for a head or a body. Plain ints:
# an Enum member read costs ~0.4 µs on CPython 3.11, several times a request.
AWAITING_NOTHING: Final = 0
AWAITING_HEAD: Final = 1
AWAITING_BODY: Final = 2


def contract_refusal(status: int, message: str, *headers: tuple[bytes, bytes]) -> ASGI3Application:
    """An ASGI app answering ``status`` in the contract's body and closing the connection: what
    the protocol runs instead of the application for a request it refuses."""
    body = bytes(error_response(status, message).body)
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
            (b"connection", b"close"),
        ],
    }

    async def refuse(_scope: Scope, _receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return refuse


refuse_overloaded = contract_refusal(
    503, OVERLOADED, (b"retry-after", str(OVERLOAD_RETRY_AFTER_SECONDS).encode())
)
refuse_large_head = contract_refusal(431, HEAD_TOO_LARGE)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """httptools with head and body deadlines, a head size cap and the contract's refusals."""

    is_refusing: ClassVar[bool] = False
    """Whether this process is refusing requests beyond its limit: one log line per episode."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, object],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.head_seconds = settings.header_timeout_seconds
        self.body_seconds = settings.body_timeout_seconds
        self.max_head_bytes = config.h11_max_incomplete_event_size or MAX_HEAD_BYTES
        # uvicorn's own check answers in plain text: ours answers in the contract's body.
        self.capacity = self.limit_concurrency
        self.limit_concurrency = None
        self.application = self.app
        self.awaiting = AWAITING_HEAD
        self.head_bytes = 0
        """Bytes of the current head received in earlier reads than the one being parsed."""
        self.read_size = 0
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # The three methods below run for every request: they call the base class directly because
    # a zero-argument super() costs ~0.35 µs a call on CPython 3.11 (measured: 0.85 µs of the
    # 13 µs httptools spends parsing a request, for two calls).

    def data_received(self, data: bytes) -> None:
        if self.awaiting == AWAITING_NOTHING:
            # What arrives between requests starts the next head. (The start of a head pipelined
            # behind a complete request is seen at the next read: its deadline starts one read
            # late, and uvicorn's keep-alive timeout covers a client that sends nothing more.)
            self.awaiting = AWAITING_HEAD
            self.head_bytes = 0
        self.read_size = len(data)
        HttpToolsProtocol.data_received(self, data)
        if self.awaiting == AWAITING_NOTHING:
            return
        if self.awaiting == AWAITING_HEAD:
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head_bytes:
                self._refuse(431, HEAD_TOO_LARGE)
                return
        if self.deadline is None and not self.transport.is_closing():
            self._arm()

    def on_headers_complete(self) -> None:
        if self.deadline is not None:
            self._disarm()
        self.awaiting = AWAITING_BODY
        capacity = self.capacity
        if (
            (capacity is None or (len(self.connections) <= capacity and len(self.tasks) < capacity))
            and not self.is_refusing
            and self.head_bytes + self.read_size <= self.max_head_bytes
        ):
            HttpToolsProtocol.on_headers_complete(self)
            return
        self.app = self._refusal() or self.application
        try:
            HttpToolsProtocol.on_headers_complete(self)
        finally:
            self.app = self.application

    def on_message_complete(self) -> None:
        if self.deadline is not None:
            self._disarm()
        self.awaiting = AWAITING_NOTHING
        HttpToolsProtocol.on_message_complete(self)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self.awaiting = AWAITING_NOTHING
        super().handle_websocket_upgrade()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, MALFORMED)

    def _refusal(self) -> ASGI3Application | None:
        """What answers this request instead of the application, if anything does (off the
        path of a request that arrives whole and finds room: ``on_headers_complete`` checks)."""
        if self.capacity is not None and self._is_over_capacity(self.capacity):
            return refuse_overloaded
        if self.head_bytes + self.read_size > self.max_head_bytes and self._head_size() > (
            self.max_head_bytes
        ):
            return refuse_large_head
        return None

    def _is_over_capacity(self, capacity: int) -> bool:
        is_over = len(self.connections) > capacity or len(self.tasks) >= capacity
        if is_over != BoundedHttpToolsProtocol.is_refusing:
            BoundedHttpToolsProtocol.is_refusing = is_over
            if is_over:
                log.warning("connection_limit_reached", limit=capacity, answer=503)
            else:
                log.info("connection_limit_cleared", limit=capacity)
        return is_over

    def _head_size(self) -> int:
        """The request line's target and the headers, as parsed (a head that arrived in one
        read was never counted by ``data_received``)."""
        return len(self.url) + sum(len(name) + len(value) for name, value in self.headers)

    def _arm(self) -> None:
        seconds = self.body_seconds if self.awaiting == AWAITING_BODY else self.head_seconds
        self.deadline = self.loop.call_later(seconds, self._deadline_passed)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _deadline_passed(self) -> None:
        self.deadline = None
        if self.transport.is_closing() or self.awaiting == AWAITING_NOTHING:
            return
        if self.flow.read_paused:
            # We stopped reading (a pipelined request waits, or the app has not read the body
            # yet): the delay is ours, not the client's.
            self._arm()
        elif self.awaiting == AWAITING_BODY:
            log.debug("request_body_timeout", client=self.client, seconds=self.body_seconds)
            self.transport.close()
        elif self.head_bytes == 0:
            log.debug("idle_connection_timeout", client=self.client, seconds=self.head_seconds)
            self.transport.close()
        else:
            log.debug("request_head_timeout", client=self.client, seconds=self.head_seconds)
            self._refuse(408, HEAD_TOO_SLOW)

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` in the contract's body and close, reading nothing more.

        Behind a response still being written (pipelining) nothing is written: that response
        ends the connection instead."""
        self._disarm()
        self.awaiting = AWAITING_NOTHING
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        body = bytes(error_response(status, message).body)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
