"""One HTTP attempt: sign, POST with a 10 s deadline and no redirects, read what came back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import httpcore
import httpx

from taskbridge import __version__
from taskbridge.dispatch.schemas import AttemptOutcome, Provider
from taskbridge.dispatch.signing import webhook_headers
from taskbridge.dispatch.ssrf import (
    EndpointRefused,
    GuardedBackend,
    Resolver,
    parse_endpoint,
    resolve_name,
)
from taskbridge.kit.time import format_timestamp, utcnow

TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 5.0
MAX_STORED_RESPONSE = 2048
"""Bytes of a response body kept in the attempt log (cut at a character boundary)."""
MAX_READ_RESPONSE = 64 * 1024
"""Bytes of a response body read at most (enough to find ``provider_activity_id``)."""
MAX_PROVIDER_ID = 255


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how one config's messages are sent (secrets already unsealed)."""

    provider: str
    endpoint_url: str | None
    signing_secrets: tuple[str, ...]
    auth_header: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    endpoint_url: str | None
    outcome: AttemptOutcome
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None
    duration_ms: int = 0
    provider_activity_id: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome == AttemptOutcome.SUCCESS


def _default_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=False)


@dataclass(frozen=True, slots=True)
class Network:
    """How sends reach endpoints: name resolution, TCP connections, TLS trust.

    One per process (``app.state.dispatch_network`` for the app's routes and dispatcher); tests
    replace its parts to stand a made-up host name on a loopback listener.
    """

    resolver: Resolver = resolve_name
    connector: httpcore.AsyncNetworkBackend = field(default_factory=httpcore.AnyIOBackend)
    ssl_context: ssl.SSLContext = field(default_factory=_default_ssl_context)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its error mapping, its streams) over a pool whose connections go
    through a :class:`GuardedBackend`.

    httpx 0.28 cannot be given a network backend, so the pool it builds is replaced: ``_pool`` is
    the one private name this relies on, and the rebinding tests fail if an upgrade moves it.
    """

    def __init__(self, pool: httpcore.AsyncConnectionPool, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = pool


def build_client(
    network: Network, *, allow_private_networks: bool, max_connections: int = 4
) -> httpx.AsyncClient:
    """A client that connects only to checked addresses, with no redirects and nothing taken
    from the environment (proxies, netrc, certificate paths)."""
    backend = GuardedBackend(
        network.resolver, network.connector, allow_private_networks=allow_private_networks
    )
    pool = httpcore.AsyncConnectionPool(
        ssl_context=network.ssl_context,
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_SECONDS,
        network_backend=backend,
    )
    return httpx.AsyncClient(
        transport=GuardedTransport(pool, network.ssl_context),
        timeout=httpx.Timeout(TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": f"taskbridge-dispatch/{__version__}"},
    )


class ClientPool:
    """Clients lent out for one request at a time.

    httpcore looks at every connection of a pool for every request it queues, so one client with
    many connections costs more CPU per request than the sending itself; many small clients,
    each keeping a few endpoints' connections alive, do not.
    """

    def __init__(self, size: int, network: Network, *, allow_private_networks: bool) -> None:
        self._all = [
            build_client(network, allow_private_networks=allow_private_networks)
            for _ in range(size)
        ]
        self._idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self._all:
            self._idle.put_nowait(client)

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        lent = await self._idle.get()
        try:
            yield lent
        finally:
            self._idle.put_nowait(lent)

    async def aclose(self) -> None:
        for client in self._all:
            await client.aclose()


def event_body(event_type: str, data: object) -> str:
    """``{"type", "timestamp", "data"}``, compact: the exact text that is signed and sent."""
    document = {"type": event_type, "timestamp": format_timestamp(utcnow()), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def provider_activity_id_of(body: bytes) -> str | None:
    """``provider_activity_id`` from a JSON object body, when it is a usable id."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    value = document.get("provider_activity_id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= MAX_PROVIDER_ID else None


async def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_READ_RESPONSE:
            break
    return b"".join(chunks)[:MAX_READ_RESPONSE]


def _classify(status: int) -> tuple[AttemptOutcome, str | None]:
    if 200 <= status < 300:
        return AttemptOutcome.SUCCESS, None
    if status == 410:
        return AttemptOutcome.GONE, "endpoint answered 410 Gone"
    if 300 <= status < 400:
        return AttemptOutcome.HTTP_ERROR, f"endpoint answered {status} (redirects are not followed)"
    return AttemptOutcome.HTTP_ERROR, f"endpoint answered {status}"


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    async with asyncio.timeout(TIMEOUT_SECONDS):
        async with client.stream("POST", url, content=body, headers=headers) as response:
            return response.status_code, await _read_limited(response)


def _mock(now: datetime, url: str | None) -> Attempt:
    """The MOCK provider: no network, a success with a generated provider id."""
    mock_id = f"mock_{uuid.uuid4().hex}"
    simulated = json.dumps({"provider_activity_id": mock_id})
    return Attempt(
        now, url, AttemptOutcome.SUCCESS, response_body=simulated, provider_activity_id=mock_id
    )


def _headers(target: Target, msg_id: str, body: str) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        **webhook_headers(target.signing_secrets, msg_id, utcnow(), body),
    }
    if target.auth_header is not None:
        headers[target.auth_header[0]] = target.auth_header[1]
    return headers


def _transport_failure(exc: Exception) -> tuple[AttemptOutcome, str]:
    if isinstance(exc, TimeoutError):
        return AttemptOutcome.TIMEOUT, f"no response within {TIMEOUT_SECONDS:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return AttemptOutcome.TIMEOUT, f"timed out: {type(exc).__name__}"
    error = f"{type(exc).__name__}: {exc}"[:MAX_STORED_RESPONSE]
    return AttemptOutcome.CONNECTION_ERROR, error


async def send(
    client: httpx.AsyncClient,
    target: Target,
    *,
    msg_id: str,
    body: str,
    now: datetime,
) -> Attempt:
    """Deliver ``body`` once with a client from :func:`build_client` (which refuses non-public
    addresses as it connects); every failure becomes an :class:`Attempt`, never an exception.

    ``now`` (the dispatcher's clock) dates the attempt; the signature carries the wall clock,
    which is what receivers check it against.
    """
    url = target.endpoint_url
    if target.provider == Provider.MOCK:
        return _mock(now, url)
    if url is None:
        return Attempt(now, url, AttemptOutcome.REFUSED, error="the config has no endpoint_url")
    try:
        parse_endpoint(url)
    except EndpointRefused as refused:
        return Attempt(now, url, AttemptOutcome.REFUSED, error=f"endpoint_url {refused}")
    started = time.perf_counter()
    try:
        status, raw = await _post(client, url, body.encode(), _headers(target, msg_id, body))
    except EndpointRefused as refused:
        duration = round((time.perf_counter() - started) * 1000)
        error = f"endpoint_url {refused}"
        return Attempt(now, url, AttemptOutcome.REFUSED, error=error, duration_ms=duration)
    except (TimeoutError, httpx.HTTPError) as exc:
        outcome, error = _transport_failure(exc)
        duration = round((time.perf_counter() - started) * 1000)
        return Attempt(now, url, outcome, error=error, duration_ms=duration)
    outcome, problem = _classify(status)
    succeeded = outcome == AttemptOutcome.SUCCESS
    return Attempt(
        attempted_at=now,
        endpoint_url=url,
        outcome=outcome,
        status_code=status,
        response_body=raw[:MAX_STORED_RESPONSE].decode("utf-8", errors="ignore"),
        error=problem,
        duration_ms=round((time.perf_counter() - started) * 1000),
        provider_activity_id=provider_activity_id_of(raw) if succeeded else None,
    )
