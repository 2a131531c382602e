"""The SSRF guard where it protects: at connection time, on the address actually connected to.

No test here opens a connection off loopback: names resolve through :class:`FakeResolver`, and
:class:`LoopbackOnly` records every connection and refuses any that is not to a loopback address.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpcore
import httpx
import pytest
from fastapi import FastAPI

from taskbridge.app import create_app
from taskbridge.config import Settings
from taskbridge.dispatch.sender import Network
from taskbridge.dispatch.ssrf import IpAddress, is_public
from taskbridge.dispatch.worker import Dispatcher
from taskbridge.kit.time import utcnow
from tests.dispatch.conftest import FakeClock, Pusher
from tests.dispatch.receiver import Receiver, running_receiver
from tests.tls import self_signed_certificate

CONFIGS = "/api/dispatch-configs"
PUBLIC = "93.184.216.34"
REBINDING_HOST = "hooks.rebind.test"
MADE_UP_HOST = "hooks.example.test"
INTERNAL_BODY = b"internal-only " * 147
REFUSED_LOOPBACK = (
    "endpoint_url resolves to a private, loopback or link-local address (127.0.0.1); "
    "the platform operator can allow these with TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS=true"
)


@dataclass
class FakeResolver:
    """Answers the n-th lookup with ``answers[n]`` (the last answer repeats)."""

    answers: list[list[str]]
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[IpAddress]:
        answer = self.answers[min(len(self.asked), len(self.answers) - 1)]
        self.asked.append(host)
        return [ipaddress.ip_address(address) for address in answer]


@dataclass
class LoopbackOnly(httpcore.AsyncNetworkBackend):
    """Records every connection; opens only those to a loopback address."""

    targets: list[str] = field(default_factory=list)
    real: httpcore.AsyncNetworkBackend = field(default_factory=httpcore.AnyIOBackend)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.targets.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise httpcore.ConnectError(f"the test network does not reach {host}")
        return await self.real.connect_tcp(host, port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


def fake_network(*answers: list[str], ssl_context: ssl.SSLContext | None = None) -> Network:
    network = Network(resolver=FakeResolver(list(answers)), connector=LoopbackOnly())
    return network if ssl_context is None else replace(network, ssl_context=ssl_context)


def resolver_of(network: Network) -> FakeResolver:
    assert isinstance(network.resolver, FakeResolver)
    return network.resolver


def connector_of(network: Network) -> LoopbackOnly:
    assert isinstance(network.connector, LoopbackOnly)
    return network.connector


@pytest.fixture
async def strict_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app as deployed: private networks refused."""
    app = create_app(settings.model_copy(update={"dispatch_allow_private_networks": False}))
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def strict_client(strict_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=strict_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _point_config_at(client: httpx.AsyncClient, pusher: Pusher, url: str) -> None:
    """The tenant's endpoint and auth header (saved where private networks are allowed, so the
    save-time check resolves nothing)."""
    body = {"endpoint_url": url, "auth_header_name": "x-tenant-token", "auth_header_value": "t0k"}
    patched = await client.patch(f"{CONFIGS}/{pusher.config_id}", headers=pusher.headers, json=body)
    assert patched.status_code == 200, patched.text


async def test_rebinding_cannot_turn_the_test_route_to_loopback(
    pusher: Pusher,
    receiver: Receiver,
    client: httpx.AsyncClient,
    strict_app: FastAPI,
    strict_client: httpx.AsyncClient,
) -> None:
    receiver.answer = lambda _r: (200, INTERNAL_BODY)
    await _point_config_at(client, pusher, f"http://{REBINDING_HOST}:{receiver.port}/hooks")
    network = strict_app.state.dispatch_network = fake_network([PUBLIC], ["127.0.0.1"])
    test_route = f"{CONFIGS}/{pusher.config_id}/test"

    first = await strict_client.post(test_route, headers=pusher.headers)
    assert first.status_code == 200, first.text
    assert (first.json()["outcome"], first.json()["responseBody"]) == ("CONNECTION_ERROR", None)
    assert PUBLIC in first.json()["error"]
    assert connector_of(network).targets == [PUBLIC]
    assert resolver_of(network).asked == [REBINDING_HOST]

    second = await strict_client.post(test_route, headers=pusher.headers)
    assert second.status_code == 200, second.text
    assert (second.json()["outcome"], second.json()["error"]) == ("REFUSED", REFUSED_LOOPBACK)
    assert (second.json()["success"], second.json()["responseBody"]) == (False, None)
    assert "internal-only" not in first.text + second.text
    assert receiver.requests == []
    assert connector_of(network).targets == [PUBLIC]
    assert resolver_of(network).asked == [REBINDING_HOST, REBINDING_HOST]


async def test_rebinding_cannot_turn_a_delivery_to_loopback(
    pusher: Pusher,
    receiver: Receiver,
    client: httpx.AsyncClient,
    strict_app: FastAPI,
    clock: FakeClock,
) -> None:
    await _point_config_at(client, pusher, f"http://{REBINDING_HOST}:{receiver.port}/hooks")
    network = fake_network([PUBLIC], ["127.0.0.1"])
    dispatcher = Dispatcher(
        strict_app.state.settings, pusher.factory, now=clock, rand=lambda: 0.5, network=network
    )
    pusher.made.append(dispatcher)
    task = await pusher.task()
    clock.at = utcnow()
    assert await dispatcher.drain() == 1
    clock.advance(seconds=6)
    assert await dispatcher.drain() == 1

    first, second = await pusher.attempts()
    assert first.outcome == "CONNECTION_ERROR"
    assert (second.outcome, second.error, second.response_body) == (
        "REFUSED",
        REFUSED_LOOPBACK,
        None,
    )
    assert receiver.requests == []
    assert connector_of(network).targets == [PUBLIC]
    log = await client.get("/api/deliveries", headers=pusher.headers)
    assert log.json()["data"][0]["lastError"] == REFUSED_LOOPBACK
    assert (await pusher.activity(task.id)).status == "READY"


async def test_a_name_answering_public_and_loopback_at_once_is_refused(
    pusher: Pusher,
    receiver: Receiver,
    client: httpx.AsyncClient,
    strict_app: FastAPI,
    strict_client: httpx.AsyncClient,
) -> None:
    await _point_config_at(client, pusher, f"http://{REBINDING_HOST}:{receiver.port}/hooks")
    network = strict_app.state.dispatch_network = fake_network([PUBLIC, "127.0.0.1"])
    tested = await strict_client.post(f"{CONFIGS}/{pusher.config_id}/test", headers=pusher.headers)
    assert (tested.json()["outcome"], tested.json()["error"]) == ("REFUSED", REFUSED_LOOPBACK)
    assert connector_of(network).targets == []
    assert receiver.requests == []


async def test_allowed_private_networks_connect_to_the_resolved_address_with_the_url_host(
    app: FastAPI, pusher: Pusher, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    await _point_config_at(client, pusher, f"http://{MADE_UP_HOST}:{receiver.port}/hooks")
    network = app.state.dispatch_network = fake_network(["127.0.0.1"])
    tested = await client.post(f"{CONFIGS}/{pusher.config_id}/test", headers=pusher.headers)
    assert (tested.json()["outcome"], tested.json()["statusCode"]) == ("SUCCESS", 200)
    [request] = receiver.requests
    assert request.headers["host"] == f"{MADE_UP_HOST}:{receiver.port}"
    assert request.headers["x-tenant-token"] == "t0k"
    assert connector_of(network).targets == ["127.0.0.1"]
    assert resolver_of(network).asked == [MADE_UP_HOST]


@contextmanager
def running_tls_receiver(cert: Path, key: Path, names: list[str]) -> Iterator[Receiver]:
    """A :class:`Receiver` behind TLS on 127.0.0.1; ``names`` collects the SNI it is sent."""

    def record_sni(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name or "")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = record_sni
    with running_receiver(tls=context) as receiver:
        yield receiver


async def test_tls_is_verified_against_the_url_host_not_the_address(
    app: FastAPI, pusher: Pusher, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    cert, key = self_signed_certificate(tmp_path, MADE_UP_HOST)
    names: list[str] = []
    with running_tls_receiver(cert, key, names) as tls:
        await _point_config_at(client, pusher, f"https://{MADE_UP_HOST}:{tls.port}/hooks")
        test_route = f"{CONFIGS}/{pusher.config_id}/test"
        app.state.dispatch_network = fake_network(["127.0.0.1"])
        untrusted = (await client.post(test_route, headers=pusher.headers)).json()
        assert untrusted["outcome"] == "CONNECTION_ERROR"
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted["error"]

        trusting = ssl.create_default_context(cafile=cert)
        network = app.state.dispatch_network = fake_network(["127.0.0.1"], ssl_context=trusting)
        tested = (await client.post(test_route, headers=pusher.headers)).json()
        assert (tested["outcome"], tested["statusCode"]) == ("SUCCESS", 200), tested
        [request] = tls.requests
        assert request.headers["host"] == f"{MADE_UP_HOST}:{tls.port}"
        assert names == [MADE_UP_HOST, MADE_UP_HOST]
        assert connector_of(network).targets == ["127.0.0.1"]


EMBEDDED_IPV4 = [
    "http://[::127.0.0.1]/hooks",  # IPv4-compatible
    "http://[::ffff:127.0.0.1]/hooks",  # IPv4-mapped
    "http://[2002:7f00:1::1]/hooks",  # 6to4 of 127.0.0.1
    "http://[2002:808:808::1]/hooks",  # 6to4, refused whatever it carries
    "http://[64:ff9b::7f00:1]/hooks",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/hooks",  # NAT64 of 169.254.169.254
    "http://[64:ff9b:1::808:808]/hooks",  # local-use NAT64
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hooks",  # Teredo
]
OTHER_RANGES = [
    "http://0.0.0.0/hooks",  # unspecified
    "http://[::]/hooks",
    "http://224.0.0.1/hooks",  # multicast
    "http://[ff0e::1]/hooks",
    "http://240.0.0.1/hooks",  # reserved
    "http://[5f00::1]/hooks",
    "http://100.64.0.1/hooks",  # shared
    "http://198.18.0.1/hooks",  # benchmarking
    "http://[2001:2::1]/hooks",
    "http://192.0.2.1/hooks",  # documentation
    "http://198.51.100.1/hooks",
    "http://203.0.113.1/hooks",
    "http://[2001:db8::1]/hooks",
    "http://[3fff::1]/hooks",
    "http://[fec0::1]/hooks",  # site-local
]


@pytest.mark.parametrize("url", EMBEDDED_IPV4 + OTHER_RANGES)
async def test_non_public_literal_endpoints_are_refused(
    pusher: Pusher, strict_client: httpx.AsyncClient, url: str
) -> None:
    body = {"channel": "CALLCENTER", "provider": "WEBHOOK", "endpoint_url": url}
    refused = await strict_client.post(CONFIGS, headers=pusher.headers, json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"].startswith("endpoint_url: resolves to a private")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("::8.8.8.8", False),
        ("::127.0.0.1", False),
        ("::ffff:10.1.2.3", False),
        ("2002:808:808::1", False),
        ("2002:7f00:1::1", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b:1::808:808", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("0.0.0.0", False),  # noqa: S104 - judged, not bound
        ("::", False),
        ("::1", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("255.255.255.255", False),
        ("240.0.0.1", False),
        ("5f00::1", False),
        ("100.64.0.1", False),
        ("198.19.255.254", False),
        ("2001:2::1", False),
        ("192.0.2.1", False),
        ("198.51.100.1", False),
        ("203.0.113.1", False),
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("fec0::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("169.254.169.254", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
