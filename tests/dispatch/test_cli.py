"""``taskbridge dispatch-config …`` in-process, and ``taskbridge dispatcher`` as a real process."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import pytest
from standardwebhooks import Webhook

from taskbridge.config import Settings
from tests.cli.conftest import Cli
from tests.dispatch.conftest import Pusher, dispatch_env, spawned_dispatcher
from tests.dispatch.receiver import Receiver


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
def dispatcher_process(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    with spawned_dispatcher(settings, settings.data_dir / "dispatcher.log") as process:
        yield process


async def test_dispatcher_process_sends_and_stops_on_sigterm(
    pusher: Pusher, receiver: Receiver, dispatcher_process: subprocess.Popen[bytes]
) -> None:
    task = await pusher.task()
    [request] = await receiver.wait_for(1, seconds=20)
    assert request.json()["data"]["id"] == str(task.id)
    dispatcher_process.send_signal(signal.SIGTERM)
    output = pusher.settings.data_dir / "dispatcher.log"
    assert dispatcher_process.wait(timeout=20) == 0, output.read_text()
    assert "dispatcher_stopped" in output.read_text()
    assert (await pusher.activity(task.id)).status == "DISPATCHED"
