"""``taskbridge serve`` believes ``X-Forwarded-For`` and ``X-Forwarded-Proto`` only from the
proxies it is told to trust (none by default), in real processes.

The client address is chosen by binding the test's connections to 127.0.0.1 (the trusted proxy)
or 127.0.0.3 (anybody else): Linux routes all of 127.0.0.0/8 to the loopback interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskbridge.cli.serve import EVERY_CLIENT_TRUSTED
from taskbridge.config import Settings
from tests.conftest import clean_settings
from tests.servers import (
    Server,
    client_from,
    failure_addresses,
    run_cli,
    server_env,
    start_server,
    stop,
    wait_for,
)

PROXY = "127.0.0.1"
STRANGER = "127.0.0.3"


@dataclass(frozen=True)
class Servers:
    settings: Settings
    trusting_the_proxy: Server
    """``--forwarded-allow-ips 127.0.0.1`` (over ``TASKBRIDGE_FORWARDED_ALLOW_IPS=10.9.9.9``)."""
    trusting_nobody: Server
    """Nothing configured (uvicorn's own ``FORWARDED_ALLOW_IPS=127.0.0.1`` in the environment)."""
    trusting_everybody: Server
    """``TASKBRIDGE_FORWARDED_ALLOW_IPS=*``."""


@pytest.fixture(scope="module")
def servers(
    migrated_template: Path | str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("forwarding")
    (folder / "data").mkdir()
    settings = clean_settings(migrated_template, folder / "data")
    env = server_env(settings)
    started: list[Server] = []
    try:
        started.append(
            start_server(
                {**env, "TASKBRIDGE_FORWARDED_ALLOW_IPS": "10.9.9.9"},
                folder,
                "--forwarded-allow-ips",
                PROXY,
            )
        )
        started.append(start_server({**env, "FORWARDED_ALLOW_IPS": PROXY}, folder))
        started.append(start_server({**env, "TASKBRIDGE_FORWARDED_ALLOW_IPS": "*"}, folder))
        wait_for(started)
        yield Servers(settings, *started)
    finally:
        stop(server.process for server in started)


def sign_in_fails(server: Server, source: str, account: str, headers: dict[str, str]) -> None:
    with client_from(source, base_url=server.url) as client:
        response = client.post(
            "/api/auth/login", json={"email": account, "password": "wrong"}, headers=headers
        )
    assert response.status_code == 401, response.text


def csrf_cookie(server: Server, source: str, headers: dict[str, str]) -> str:
    """The ``Set-Cookie`` of a first visit to the panel."""
    with client_from(source, base_url=server.url) as client:
        response = client.get("/admin/login", headers=headers)
    assert response.status_code == 200
    line: str = response.headers["set-cookie"]
    assert line.startswith("tb_csrf=")
    return line


def is_secure(set_cookie: str) -> bool:
    return "secure" in (part.strip().lower() for part in set_cookie.split(";"))


SPOOF = {"x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https"}


def test_a_trusted_proxy_names_the_client_and_the_scheme(servers: Servers) -> None:
    server = servers.trusting_the_proxy

    sign_in_fails(server, PROXY, "proxied@example.test", SPOOF)

    assert failure_addresses(servers.settings, "proxied@example.test") == ["198.51.100.7"]
    assert is_secure(csrf_cookie(server, PROXY, SPOOF))
    assert not is_secure(csrf_cookie(server, PROXY, {}))


def test_anybody_else_cannot_choose_its_address_or_scheme(servers: Servers) -> None:
    server = servers.trusting_the_proxy

    sign_in_fails(server, STRANGER, "stranger@example.test", SPOOF)

    assert failure_addresses(servers.settings, "stranger@example.test") == [STRANGER]
    assert not is_secure(csrf_cookie(server, STRANGER, SPOOF))


def test_nobody_is_trusted_by_default_not_even_loopback(servers: Servers) -> None:
    server = servers.trusting_nobody

    sign_in_fails(server, PROXY, "direct@example.test", SPOOF)

    assert failure_addresses(servers.settings, "direct@example.test") == [PROXY]
    assert not is_secure(csrf_cookie(server, PROXY, SPOOF))


def test_trusting_everybody_is_allowed_with_a_warning_because_anybody_can_spoof(
    servers: Servers,
) -> None:
    server = servers.trusting_everybody

    sign_in_fails(server, STRANGER, "spoofer@example.test", SPOOF)

    assert failure_addresses(servers.settings, "spoofer@example.test") == ["198.51.100.7"]
    assert server.output().splitlines().count(EVERY_CLIENT_TRUSTED) == 1
    for other in (servers.trusting_the_proxy, servers.trusting_nobody):
        assert EVERY_CLIENT_TRUSTED not in other.output()


def test_serve_refuses_a_proxy_named_by_host_name(servers: Servers) -> None:
    env = server_env(servers.settings)

    result = run_cli(env, "serve", "--forwarded-allow-ips", "127.0.0.1, proxy.internal")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "TASKBRIDGE_FORWARDED_ALLOW_IPS (--forwarded-allow-ips): 'proxy.internal' does not "
        "appear to be an IPv4 or IPv6 address; list IP addresses or networks of the proxies in "
        "front of taskbridge, comma-separated"
    ]
