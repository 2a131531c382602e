"""The database goes away under a running server and comes back: every request meanwhile is a
503 with ``Retry-After`` (never a 500, never a hang), the log says so once, and the server and
its dispatcher answer again by themselves.

The test brings its own PostgreSQL cluster (Debian's server binaries; ``initdb`` refuses root,
so they run as the ``postgres`` user) and stops it as a crash would. It needs no
``TASKBRIDGE_TEST_DATABASE_URL``, so it runs once, in the pass on SQLite.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskbridge.cli.demo import DEMO_ADMIN_EMAIL, DemoSetup, set_up_demo
from taskbridge.cli.demo import TASKS as DEMO_TASKS
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.dispatch import service as dispatch
from taskbridge.dispatch.schemas import DispatchConfigCreate, Provider
from taskbridge.migrations import upgrade
from tests.conftest import TEST_SECRET_KEY, is_postgres
from tests.error_bodies import ErrorBody
from tests.integration.support import CONFIGS, SUBMIT, TASKS, reschedule
from tests.servers import SCRIPT, Server, free_port, server_env, stop, wait_for
from tests.web.support import csrf_of

HANG_GUARD_SECONDS = 30.0
"""How long the server may take to answer again once the database is back (a hang guard)."""
PROMPT_SECONDS = 5.0
"""A refusal is prompt: nothing waits on a database that is not there."""


def _server_binaries() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` folder holding ``initdb`` and ``pg_ctl``."""
    usable = [
        folder
        for folder in Path("/usr/lib/postgresql").glob("*/bin")
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file()
    ]
    return max(usable, key=lambda folder: int(folder.parent.name), default=None)


PG_BIN = _server_binaries()

pytestmark = [
    pytest.mark.skipif(is_postgres(), reason="brings its own cluster: runs in the SQLite pass"),
    pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL server binaries are not installed"),
]


@dataclass
class Cluster:
    """A PostgreSQL cluster in a folder of its own, on a free loopback port."""

    bin_dir: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, program: str, *args: str, check: bool = True) -> None:
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        command = [*as_owner, str(self.bin_dir / program), "-D", str(self.folder / "data"), *args]
        subprocess.run(command, check=check, capture_output=True, timeout=60)

    def create(self) -> None:
        self._pg("initdb", "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c unix_socket_directories={self.folder}"
        )
        self._pg("pg_ctl", "-l", str(self.folder / "server.log"), "-o", options, "-w", "start")

    def stop(self, *, check: bool = True) -> None:
        """As a crash would: no checkpoint, every connection cut."""
        self._pg("pg_ctl", "-m", "immediate", "-w", "stop", check=check)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    assert PG_BIN is not None
    # Not under pytest's tmp_path: the postgres user cannot enter root's private folders.
    folder = Path(tempfile.mkdtemp(prefix="taskbridge-outage-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    running = Cluster(PG_BIN, folder, free_port())
    try:
        running.create()
        running.start()
        yield running
    finally:
        running.stop(check=False)
        shutil.rmtree(folder, ignore_errors=True)


async def _set_up(settings: Settings) -> DemoSetup:
    """``taskbridge demo`` (its tenant, key, tasks, panel administrator), and a MOCK dispatch
    config for each of its channels: every follow-up task is pushed."""
    engine = create_engine(settings)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            setup = await set_up_demo(session)
            for channel in {task[2] for task in DEMO_TASKS}:
                config = DispatchConfigCreate(channel=channel, provider=Provider.MOCK)
                await dispatch.create_config(session, setup.tenant.id, config, settings)
        return setup
    finally:
        await engine.dispose()


def _serve(env: dict[str, str], folder: Path) -> Server:
    """``taskbridge serve`` with its application log (stdout) and uvicorn's (stderr) in one
    file, in the order they were written."""
    port = free_port()
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [SCRIPT, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Server(process, port, log)


def _sign_in(browser: httpx.Client, email: str, password: str) -> None:
    form = browser.get("/admin/login")
    signed_in = browser.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": csrf_of(form)}
    )
    assert signed_in.status_code == 303, signed_in.text


def _every_surface(
    api: httpx.Client, browser: httpx.Client, task: dict[str, Any]
) -> list[httpx.Response]:
    """One request of each kind that needs the database: key lookup and catalogue, a task page,
    a result submission, a panel page."""
    body = reschedule(task["id"], commerce=task["commerceExternalId"])
    return [
        api.get(CONFIGS),
        api.get(TASKS),
        api.post(SUBMIT, json=body),
        browser.get("/admin/tasks"),
    ]


def _assert_refused(response: httpx.Response) -> None:
    request = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == 503, (request, response.text)
    assert response.headers["retry-after"] == "5", request
    assert response.elapsed.total_seconds() < PROMPT_SECONDS, request
    if response.request.url.path.startswith("/admin"):
        assert "Temporarily unavailable" in response.text
        assert "Try again in a few seconds." in response.text
        return
    assert response.json() == ErrorBody(
        {
            "statusCode": 503,
            "error": "Service Unavailable",
            "message": "Service temporarily unavailable; retry shortly",
        }
    )


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _until_dispatched(api: httpx.Client, task_id: str) -> None:
    """Until the dispatcher has pushed the task (its MOCK provider answers at once)."""
    _until(
        lambda: api.get(f"{TASKS}/{task_id}").json()["lifecycleStatus"] == "DISPATCHED",
        f"task {task_id} was not dispatched",
    )


def _until_answered(api: httpx.Client) -> list[httpx.Response]:
    """Every response to a task page until one is a 200 (none to spare: nothing is missed)."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    responses = [api.get(TASKS)]
    while responses[-1].status_code != 200:
        assert time.monotonic() < deadline, "no recovery"
        time.sleep(0.05)
        responses.append(api.get(TASKS))
    return responses


def _lines(server: Server, event: str) -> list[str]:
    return [line for line in server.output().splitlines() if f" {event} " in f"{line} "]


def test_an_outage_is_503s_logged_once_and_the_server_recovers_by_itself(
    cluster: Cluster, tmp_path: Path
) -> None:
    settings = Settings(database_url=cluster.url, data_dir=tmp_path, secret_key=TEST_SECRET_KEY)
    env = server_env(
        settings,
        TASKBRIDGE_DISPATCH_IN_PROCESS="true",
        TASKBRIDGE_DISPATCH_POLL_INTERVAL="0.2",
        TASKBRIDGE_CACHE_TTL_SECONDS="0",  # every request reads the database, none the cache
    )
    upgrade(settings)
    demo = asyncio.run(_set_up(settings))
    key, english = {"x-api-key": demo.plaintext}, {"accept-language": "en"}
    server = _serve(env, tmp_path)
    try:
        wait_for([server])
        with (
            httpx.Client(base_url=server.url, timeout=10, headers=key) as api,
            httpx.Client(base_url=server.url, timeout=10, headers=english) as browser,
        ):
            before, during = api.get(TASKS).json()["data"][:2]
            _sign_in(browser, DEMO_ADMIN_EMAIL, demo.admin_password)
            healthy = _every_surface(api, browser, before)
            assert [r.status_code for r in healthy] == [200, 200, 201, 200]
            _until_dispatched(api, healthy[2].json()["followUpActivityId"])

            cluster.stop()
            refused = [r for _ in range(3) for r in _every_surface(api, browser, during)]
            for response in refused:
                _assert_refused(response)
            assert len(_lines(server, "database_unavailable")) == 1

            cluster.start()
            probes = _until_answered(api)
            assert {r.status_code for r in probes[:-1]} <= {503}
            refused += probes[:-1]
            recovered = _every_surface(api, browser, during)
            assert [r.status_code for r in recovered] == [200, 200, 201, 200], recovered[2].text
            _until_dispatched(api, recovered[2].json()["followUpActivityId"])
        _until(lambda: bool(_lines(server, "database_available_again")), "no recovery logged")
        assert len(_lines(server, "database_unavailable")) == 1
        (again,) = _lines(server, "database_available_again")
        assert re.search(rf"\brefused={len(refused)}\b", again), again
        assert "Traceback" not in server.output()
        assert "unexpected_error" not in server.output()
    finally:
        stop([server.process])
