"""``taskbridge serve`` bounds what slow, idle and oversized clients can hold, in real processes
over raw sockets: a head or a body that does not arrive in time, a head above 32 KiB, and
connections beyond ``TASKBRIDGE_LIMIT_CONCURRENCY`` are answered or closed, never kept forever,
while other clients are served.

The deadlines are short (``DEADLINE_SECONDS``) so the tests take seconds; every wait below is a
hang guard ("answered before ``HANG_GUARD_SECONDS``"), never a timing.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskbridge.cli.serve import MAX_DEFAULT_CONNECTIONS, default_connection_limit
from taskbridge.config import Settings
from taskbridge.errors import OVERLOADED
from taskbridge.kit.http_protocol import HEAD_TOO_LARGE, HEAD_TOO_SLOW
from tests.conftest import clean_settings
from tests.servers import Server, run_cli, server_env, start_server, stop, wait_for

CONFIGS = "/api/integration/task-result-type-configs"
DEADLINE_SECONDS = "2"
LIMIT = 4
HANG_GUARD_SECONDS = 30.0
TRICKLE_SECONDS = 0.05
"""How long the trickling client waits for an answer before sending its next byte."""


@dataclass(frozen=True)
class Servers:
    key: str
    bounded: Server
    """Head and body deadlines of ``DEADLINE_SECONDS``. (Several workers, each importing the
    protocol by its name, are the default that ``test_processes`` serves with.)"""
    limited: Server
    """``TASKBRIDGE_LIMIT_CONCURRENCY=4``, and a head deadline long enough to hold idle
    connections open for the whole test."""


@pytest.fixture(scope="module")
def servers(
    migrated_template: Path | str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("slow-clients")
    (folder / "data").mkdir()
    env = server_env(clean_settings(migrated_template, folder / "data"))
    demo = run_cli(env, "demo", "--json")
    assert demo.returncode == 0, demo.stderr
    started: list[Server] = []
    try:
        deadlines = {
            "TASKBRIDGE_HEADER_TIMEOUT_SECONDS": DEADLINE_SECONDS,
            "TASKBRIDGE_BODY_TIMEOUT_SECONDS": DEADLINE_SECONDS,
        }
        started.append(start_server({**env, **deadlines}, folder))
        limits = {"TASKBRIDGE_LIMIT_CONCURRENCY": str(LIMIT)}
        started.append(
            start_server({**env, **limits, "TASKBRIDGE_HEADER_TIMEOUT_SECONDS": "300"}, folder)
        )
        wait_for(started)
        yield Servers(json.loads(demo.stdout)["plaintextKey"], *started)
    finally:
        stop(server.process for server in started)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return Answer(int(status_line.split(" ")[1]), headers, json.loads(body) if body else None)


class RawClient:
    """One TCP connection driven byte by byte."""

    def __init__(self, server: Server) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.received = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def trickle_until_answered(self, byte: bytes = b"a") -> bytes:
        """Send ``byte`` again and again, never finishing; what the server sent until it
        closed."""
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while not select.select([self.sock], [], [], TRICKLE_SECONDS)[0]:
            assert time.monotonic() < deadline, "the server kept a trickling client connected"
            try:
                self.sock.sendall(byte)
            except OSError:
                break
        return self.read_until_closed()

    def read_until_closed(self) -> bytes:
        """Everything the server sends until it closes; fails (timeout) if it never does."""
        self.sock.settimeout(HANG_GUARD_SECONDS)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                received, self.received = self.received, b""
                return received
            self.received += chunk

    def response(self) -> Answer:
        """One complete response (with a ``content-length``) on a kept-alive connection."""
        while b"\r\n\r\n" not in self.received:
            chunk = self.sock.recv(65536)
            assert chunk, "closed before a response"
            self.received += chunk
        head, _, rest = self.received.partition(b"\r\n\r\n")
        length = int(parse(head + b"\r\n\r\n").headers["content-length"])
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.received = rest[length:]
        return parse(head + b"\r\n\r\n" + rest[:length])


def get(path: str, key: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: t\r\nx-api-key: {key}\r\n\r\n".encode()


def assert_refused(raw: bytes, status: int, message: str) -> Answer:
    answer = parse(raw)
    assert answer.status == status, raw
    assert answer.body == {
        "statusCode": status,
        "error": {408: "Request Timeout", 431: "Request Header Fields Too Large"}.get(
            status, "Service Unavailable"
        ),
        "message": message,
    }
    assert answer.headers["connection"] == "close"
    return answer


def test_a_client_trickling_its_headers_gets_408_while_others_are_served(
    servers: Servers,
) -> None:
    slow = RawClient(servers.bounded)
    try:
        slow.send(f"GET {CONFIGS} HTTP/1.1\r\nHost: t\r\nX-Slow: ".encode())

        served = httpx.get(servers.bounded.url + CONFIGS, headers={"x-api-key": servers.key})
        assert served.status_code == 200

        assert_refused(slow.trickle_until_answered(), 408, HEAD_TOO_SLOW)
    finally:
        slow.close()


def test_a_connection_that_never_sends_a_byte_is_closed_without_an_answer(
    servers: Servers,
) -> None:
    idle = RawClient(servers.bounded)
    try:
        assert idle.read_until_closed() == b""
    finally:
        idle.close()


def test_the_head_deadline_starts_again_for_each_request_on_a_kept_alive_connection(
    servers: Servers,
) -> None:
    client = RawClient(servers.bounded)
    try:
        for _ in range(2):
            client.send(get(CONFIGS, servers.key))
            assert client.response().status == 200

        client.send(b"GET / HTTP/1.1\r\nX-Slow: ")
        assert_refused(client.trickle_until_answered(), 408, HEAD_TOO_SLOW)
    finally:
        client.close()


def test_a_client_trickling_its_body_is_disconnected(servers: Servers) -> None:
    slow = RawClient(servers.bounded)
    try:
        slow.send(
            b"POST /api/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )

        assert slow.trickle_until_answered(b" ") == b""
    finally:
        slow.close()
    served = httpx.get(servers.bounded.url + CONFIGS, headers={"x-api-key": servers.key})
    assert served.status_code == 200


@pytest.mark.parametrize("is_trickled", [False, True], ids=["whole", "in-pieces"])
def test_a_head_above_32_kib_gets_431(servers: Servers, is_trickled: bool) -> None:
    client = RawClient(servers.bounded)
    try:
        client.send(
            get(CONFIGS, servers.key).replace(
                b"\r\n\r\n", b"\r\nX-Big: " + b"b" * 16_000 + b"\r\n\r\n"
            )
        )
        assert client.response().status == 200

        client.send(b"GET / HTTP/1.1\r\nX-Big: ")
        if is_trickled:
            raw = client.trickle_until_answered(b"b" * 4096)
        else:
            client.send(b"b" * 40_000 + b"\r\n\r\n")
            raw = client.read_until_closed()
        assert_refused(raw, 431, HEAD_TOO_LARGE)
    finally:
        client.close()


def test_connections_beyond_the_limit_get_503_and_the_server_recovers(
    servers: Servers,
) -> None:
    url, headers = servers.limited.url + CONFIGS, {"x-api-key": servers.key}
    idle = [RawClient(servers.limited) for _ in range(LIMIT + 2)]
    try:
        refused = httpx.get(url, headers=headers, timeout=HANG_GUARD_SECONDS)

        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "statusCode": 503,
            "error": "Service Unavailable",
            "message": OVERLOADED,
        }
    finally:
        for client in idle:
            client.close()
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while httpx.get(url, headers=headers, timeout=HANG_GUARD_SECONDS).status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover"
        time.sleep(0.1)


def test_the_default_limit_leaves_room_under_the_open_file_limit() -> None:
    sqlite = Settings(database_url="sqlite:///x.db", db_pool_size=10, dispatch_concurrency=64)
    postgres = Settings(database_url="postgresql://db/x", db_pool_size=10)

    assert default_connection_limit(sqlite, 1024) == 1024 - 64 - 30 - 64
    assert default_connection_limit(postgres, 1024) == 1024 - 64 - 30
    assert default_connection_limit(postgres, 1_048_576) == MAX_DEFAULT_CONNECTIONS
    assert default_connection_limit(sqlite, 100) == 1
