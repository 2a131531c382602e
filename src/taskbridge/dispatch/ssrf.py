"""Endpoint safety: http(s) only; private, loopback, link-local addresses refused unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_SETTING = "TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS"


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
    """Whether ``address`` is a global unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address ``host`` resolves to (a literal address resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise EndpointRefused(f"host '{host}' cannot be resolved") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def check_endpoint(url: str, *, allow_private_networks: bool) -> None:
    """Refuse a URL taskbridge must not call (see :class:`EndpointRefused`)."""
    parts = parse_endpoint(url)
    if allow_private_networks:
        return
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in await resolve(parts.hostname, port):
        if not is_public(address):
            raise EndpointRefused(
                f"resolves to a private, loopback or link-local address ({address}); "
                f"the platform operator can allow these with {ALLOW_SETTING}=true"
            )
