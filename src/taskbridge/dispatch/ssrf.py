"""Endpoint safety: http(s) only; non-public addresses refused unless allowed.

The address a send connects to is the address that was checked: :class:`GuardedBackend` resolves
a name once, judges every answer, and connects to the checked answers (DNS rebinding cannot slip
a private address in between). :func:`check_endpoint` is the early check a config gets when it is
saved.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import SplitResult, urlsplit

import httpcore

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IpAddress]]]
"""``(host name, port) -> addresses``; raises ``OSError`` when the name does not resolve."""
ALLOW_SETTING = "TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS"

NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "198.18.0.0/15",  # benchmarking
        "2001:2::/48",  # benchmarking
        "192.0.2.0/24",  # documentation
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "fec0::/10",  # deprecated site-local
        "::/96",  # IPv4-compatible (deprecated)
        "2002::/16",  # 6to4
        "192.88.99.0/24",  # 6to4 relay anycast
        "2001::/32",  # Teredo
        "64:ff9b:1::/48",  # local-use NAT64
    )
)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class EndpointRefused(Exception):
    """An endpoint URL taskbridge will not send to; the message says why."""


def parse_endpoint(url: str) -> SplitResult:
    """The URL's parts, refusing anything but an absolute http(s) URL without credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise EndpointRefused("is not a valid URL") from None
    if parts.scheme not in {"http", "https"}:
        raise EndpointRefused("must be an http or https URL")
    if not parts.hostname:
        raise EndpointRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("must not carry credentials; use the auth header instead")
    if port == 0:
        raise EndpointRefused("must not use port 0")
    return parts


def is_public(address: IpAddress) -> bool:
    """Whether ``address`` is global unicast: not private, loopback, link-local, unspecified,
    multicast, reserved, shared, benchmarking or documentation.

    IPv6 forms that carry an IPv4 address: IPv4-mapped addresses and the well-known NAT64 prefix
    (what DNS64 hands an IPv6-only host) are judged by the IPv4 address they carry; the
    deprecated or local forms (IPv4-compatible, 6to4, Teredo, local-use NAT64) are refused
    outright, as no webhook receiver lives behind them.
    """
    if any(address in network for network in NOT_PUBLIC):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not address.is_multicast and not address.is_reserved


def check_addresses(addresses: Iterable[IpAddress]) -> None:
    """Refuse unless every one of ``addresses`` is public."""
    for address in addresses:
        if not is_public(address):
            raise EndpointRefused(
                f"resolves to a private, loopback or link-local address ({address}); "
                f"the platform operator can allow these with {ALLOW_SETTING}=true"
            )


async def resolve_name(host: str, port: int) -> list[IpAddress]:
    """The system resolver's answers for ``host``, in its order of preference."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise OSError(f"'{host}' is not a valid host name") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def addresses_of(host: str, port: int, resolver: Resolver) -> list[IpAddress]:
    """A literal address as itself, a name as ``resolver`` answers it (duplicates dropped)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return list(dict.fromkeys(await resolver(host, port)))


async def check_endpoint(
    url: str, *, allow_private_networks: bool, resolver: Resolver = resolve_name
) -> None:
    """Refuse a URL taskbridge must not call (see :class:`EndpointRefused`)."""
    parts = parse_endpoint(url)
    if allow_private_networks or parts.hostname is None:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await addresses_of(parts.hostname, port, resolver)
    except OSError:
        raise EndpointRefused(f"host '{parts.hostname}' cannot be resolved") from None
    check_addresses(addresses)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connections made to checked addresses only.

    ``connect_tcp`` resolves the host once through ``resolver``, raises :class:`EndpointRefused`
    when any answer is not public (unless private networks are allowed), and connects through
    ``connector`` to the answers themselves, in order. httpcore then starts TLS with the original
    host name, so SNI, certificate checks and the ``Host`` header are those of the URL.
    """

    def __init__(
        self,
        resolver: Resolver,
        connector: httpcore.AsyncNetworkBackend,
        *,
        allow_private_networks: bool,
    ) -> None:
        self.resolver = resolver
        self.connector = connector
        self.allow_private_networks = allow_private_networks

    async def _resolve(self, host: str, port: int, seconds: float | None) -> list[IpAddress]:
        try:
            async with asyncio.timeout(seconds):
                addresses = await addresses_of(host, port, self.resolver)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"host '{host}' did not resolve in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"host '{host}' cannot be resolved: {exc}") from None
        if not addresses:
            raise httpcore.ConnectError(f"host '{host}' has no address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        if not self.allow_private_networks:
            check_addresses(addresses)
        failures: list[httpcore.ConnectError] = []
        for address in addresses:
            try:
                return await self.connector.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failures.append(exc)
        raise failures[-1]

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("endpoints are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.connector.sleep(seconds)
