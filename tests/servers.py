"""Real ``taskbridge serve`` processes for tests: started on free loopback ports, waited for
(with a hang guard, never a timing), stopped in teardown; and what they wrote in the database."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from taskbridge.config import Settings
from taskbridge.db import create_engine
from taskbridge.models import LoginFailure
from tests.conftest import TEST_SECRET_KEY

SCRIPT = str(Path(sys.executable).with_name("taskbridge"))
HANG_GUARD_SECONDS = 90.0
"""How long a process may take to start before the test fails: CI machines are shared and slow."""
PROBE = "/api/integration/me"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(settings: Settings, **variables: str) -> dict[str, str]:
    """This test's database and secret key, none of the caller's ``TASKBRIDGE_*``, plus
    ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    env["TASKBRIDGE_DATABASE_URL"] = settings.resolved_database_url()
    env["TASKBRIDGE_DATA_DIR"] = str(settings.data_dir)
    env["TASKBRIDGE_SECRET_KEY"] = TEST_SECRET_KEY
    env.update(variables)
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@dataclass
class Server:
    """One ``taskbridge serve`` process; its stderr goes to ``log`` (a pipe could fill up)."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(env: dict[str, str], folder: Path, *options: str) -> Server:
    """``taskbridge serve --workers 1`` on a free port (not yet answering: see ``wait_for``)."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(port), "--workers", "1", *options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    return Server(process, port, log)


def wait_for(servers: Iterable[Server]) -> None:
    """Until every server answers HTTP; fails at once when one exits."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    for server in servers:
        while True:
            try:
                httpx.get(server.url + PROBE, timeout=2)
                break
            except httpx.TransportError:
                assert server.process.poll() is None, server.output()
                assert time.monotonic() < deadline, f"server did not start: {server.output()}"
                time.sleep(0.2)


def stop(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Terminate every process, then kill whichever has not exited 15 s later."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def failure_addresses(settings: Settings, account: str) -> list[str]:
    """The addresses the login throttle recorded for ``account``'s failed sign-ins."""

    async def read() -> list[str]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                rows = await connection.scalars(
                    select(LoginFailure.address)
                    .where(LoginFailure.account == account)
                    .order_by(LoginFailure.failed_at)
                )
                return list(rows)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def client_from(
    address: str, *, verify: ssl.SSLContext | bool = True, base_url: str = ""
) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (any of 127.0.0.0/8 on Linux)."""
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=address, verify=verify),
        base_url=base_url,
        timeout=10,
    )
