"""``taskbridge dispatch-config …`` in-process, and ``taskbridge dispatcher`` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from taskbridge.config import Settings
from tests.cli.conftest import Cli, database_env
from tests.dispatch.conftest import Pusher
from tests.dispatch.receiver import Receiver

SCRIPT = str(Path(sys.executable).with_name("taskbridge"))


def dispatch_env(settings: Settings) -> dict[str, str]:
    return {
        **database_env(settings),
        "TASKBRIDGE_SECRET_KEY": settings.resolved_secret_key(),
        "TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS": "true",
        "TASKBRIDGE_DISPATCH_POLL_INTERVAL": "0.5",
    }


@pytest.fixture
def cli(settings: Settings) -> Cli:
    return Cli(env=dispatch_env(settings))


async def test_create_list_test_disable(cli: Cli, pusher: Pusher, receiver: Receiver) -> None:
    created = await cli.json(
        "dispatch-config",
        "create",
        "--tenant",
        "acme",
        "--channel",
        "CALLCENTER",
        "--endpoint-url",
        receiver.url,
        "--auth-header-name",
        "x-api-key",
        "--auth-header-value",
        "from-the-cli",
    )
    assert created["signingSecret"].startswith("whsec_")
    listed = await cli.json("dispatch-config", "list", "--tenant", "acme")
    assert [c["channel"] for c in listed["data"]] == ["SALESMAN", "CALLCENTER"]
    assert "from-the-cli" not in str(listed)
    assert created["signingSecret"] not in str(listed)

    tested = await cli.json("dispatch-config", "test", "--tenant", "acme", created["id"])
    assert (tested["success"], tested["statusCode"]) == (True, 200)
    [ping] = receiver.requests
    assert ping.headers["x-api-key"] == "from-the-cli"
    assert Webhook(created["signingSecret"]).verify(ping.body, ping.headers)["type"] == "ping"

    receiver.answer = lambda _r: (500, b"")
    failed = await cli.refused("dispatch-config", "test", "--tenant", "acme", created["id"])
    assert failed.stderr.startswith("test event failed: endpoint answered 500")

    disabled = await cli.json("dispatch-config", "disable", "--tenant", "acme", created["id"])
    assert disabled["isActive"] is False
    duplicate = await cli.refused(
        "dispatch-config", "create", "--tenant", "acme", "--channel", "SALESMAN"
    )
    assert duplicate.stderr.startswith("endpoint_url: is required for the WEBHOOK provider")
    taken = await cli.refused(
        "dispatch-config",
        "create",
        "--tenant",
        "acme",
        "--channel",
        "SALESMAN",
        "--provider",
        "MOCK",
    )
    assert taken.stderr.startswith("Channel SALESMAN already has an active dispatch config")


async def test_retry_a_failed_task(cli: Cli, pusher: Pusher, receiver: Receiver) -> None:
    receiver.answer = lambda _r: (500, b"")
    task = await pusher.task()
    await pusher.dispatcher(dispatch_max_attempts=1).drain()
    assert (await pusher.activity(task.id)).status == "FAILED"
    queued = await cli.json("dispatch-config", "retry", "--tenant", "acme", str(task.id))
    assert (queued["activityId"], queued["status"]) == (str(task.id), "PENDING")
    assert (await pusher.activity(task.id)).status == "READY"
    again = await cli.json("dispatch-config", "retry", "--tenant", "acme", str(task.id))
    assert again["id"] == queued["id"]  # already queued: made due now, not queued twice
    missing = await cli.refused(
        "dispatch-config", "retry", "--tenant", "acme", str(pusher.tenant_id)
    )
    assert missing.stderr == f"Activity '{pusher.tenant_id}' not found\n"


@pytest.fixture
def dispatcher_process(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    process = subprocess.Popen(
        [SCRIPT, "dispatcher"],
        env={**env, **dispatch_env(settings)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def test_dispatcher_process_sends_and_stops_on_sigterm(
    pusher: Pusher, receiver: Receiver, dispatcher_process: subprocess.Popen[str]
) -> None:
    task = await pusher.task()
    [request] = await receiver.wait_for(1, seconds=20)
    assert request.json()["data"]["id"] == str(task.id)
    dispatcher_process.send_signal(signal.SIGTERM)
    output, _ = dispatcher_process.communicate(timeout=20)
    assert dispatcher_process.returncode == 0, output
    assert "dispatcher_stopped" in output
    assert (await pusher.activity(task.id)).status == "DISPATCHED"
