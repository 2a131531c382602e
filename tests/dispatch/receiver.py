"""A real HTTP receiver on 127.0.0.1 for dispatch tests: records every request, answers as told."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, bytes]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    started: float
    finished: float = 0.0

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


def ok(_request: Received) -> Answer:
    return 200, b'{"received": true}'


@dataclass
class Receiver:
    """``answer`` decides each response; ``delay`` (seconds) slows every response down."""

    answer: Callable[[Received], Answer] = ok
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    max_requests: int = 20_000
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def wait_for(self, count: int, seconds: float = 10.0) -> list[Received]:
        """The requests once there are ``count`` of them, or after ``seconds``."""
        deadline = time.monotonic() + seconds
        for _ in range(int(seconds / 0.002) + 1):
            if len(self.requests) >= count or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.002)
        return list(self.requests)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                started = time.time()
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-body (a kill -9 test): no server would take a
                    # truncated request as delivered, so neither does this one.
                    self.close_connection = True
                    return
                request = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    started=started,
                )
                if len(receiver.requests) >= receiver.max_requests:
                    status, answer = 503, b"too many requests for this test"
                else:
                    receiver.requests.append(request)
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    status, answer = receiver.answer(request)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                if 300 <= status < 400:
                    self.send_header("location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                self.end_headers()
                self.wfile.write(answer)
                request.finished = time.time()

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 512
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is expected; nothing to print."""


@contextmanager
def running_receiver(
    receiver: Receiver | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[Receiver]:
    """``receiver`` serving on a free loopback port (behind TLS with a server ``tls`` context)."""
    receiver = receiver or Receiver()
    server = _Server(("127.0.0.1", 0), receiver._handler())
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
