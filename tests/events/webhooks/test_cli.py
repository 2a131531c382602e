"""``taskbridge event-endpoint create|list|disable|rotate|redeliver`` on the test database."""

from __future__ import annotations

import uuid

import pytest
from standardwebhooks import Webhook

from taskbridge.config import Settings
from tests.cli.conftest import Cli
from tests.dispatch.conftest import dispatch_env
from tests.events.webhooks.conftest import Hooks, SignedReceiver, deliver_until


@pytest.fixture
def cli(settings: Settings) -> Cli:
    return Cli(env=dispatch_env(settings))


async def test_create_list_rotate_redeliver_disable(
    cli: Cli, hooks: Hooks, events_receiver: SignedReceiver
) -> None:
    created = await cli.json(
        "event-endpoint",
        "create",
        "--tenant",
        "acme",
        "--url",
        events_receiver.url,
        "--type",
        "task.created",
        "--type",
        "result_type.created",
        "--description",
        "from the shell",
    )
    secret = created["signingSecret"]
    assert secret.startswith("whsec_")
    assert created["eventTypes"] == ["task.created", "result_type.created"]
    events_receiver.secrets.append(secret)
    endpoint_id = created["id"]

    listed = await cli.json("event-endpoint", "list", "--tenant", "acme")
    assert [e["id"] for e in listed["data"]] == [endpoint_id]
    assert secret not in str(listed)
    plain = await cli.ok("event-endpoint", "list", "--tenant", "acme")
    assert plain.stdout.startswith(f"{endpoint_id}\tenabled\ttask.created,result_type.created")

    await hooks.task()
    dispatcher = hooks.dispatcher()

    async def first() -> bool:
        return len(events_receiver.requests) >= 1

    await deliver_until(dispatcher, first)
    [delivery] = await hooks.deliveries(endpoint_id)

    rotated = await cli.json(
        "event-endpoint", "rotate", "--tenant", "acme", endpoint_id, "--overlap-seconds", "0"
    )
    new = rotated["signingSecret"]
    assert new != secret
    assert rotated["previousSecretExpiresAt"] is None
    events_receiver.secrets[:] = [new]
    again = await cli.json(
        "event-endpoint",
        "redeliver",
        "--tenant",
        "acme",
        endpoint_id,
        "--delivery",
        str(delivery.id),
    )
    assert (again["id"], again["status"]) == (str(delivery.id), "PENDING")
    await dispatcher.drain()
    resent = events_receiver.requests[-1]
    assert resent.webhook_id == str(delivery.id)
    assert Webhook(new).verify(resent.body, resent.headers)

    since = await cli.json(
        "event-endpoint",
        "redeliver",
        "--tenant",
        "acme",
        endpoint_id,
        "--since",
        "2026-01-01T00:00Z",
    )
    assert since == {"queued": 6}  # history too: the world's 4 result types and 2 tasks
    neither = await cli.refused("event-endpoint", "redeliver", "--tenant", "acme", endpoint_id)
    assert neither.stderr.startswith("give exactly one of --since and --delivery")
    bad = await cli.refused(
        "event-endpoint", "redeliver", "--tenant", "acme", endpoint_id, "--since", "yesterday"
    )
    assert bad.stderr.startswith("--since ")

    disabled = await cli.json("event-endpoint", "disable", "--tenant", "acme", endpoint_id)
    assert (disabled["enabled"], disabled["disabledReason"]) == (
        False,
        "disabled by an administrator",
    )
    assert [e.actor_type for e in await hooks.audit()] == ["cli"] * 5
    assert events_receiver.forged == []


async def test_refusals_name_the_problem(cli: Cli, hooks: Hooks) -> None:
    private = await cli.refused(
        "event-endpoint", "create", "--tenant", "acme", "--url", "ftp://example.com/x"
    )
    assert private.stderr.startswith("url: ")
    missing = await cli.refused("event-endpoint", "disable", "--tenant", "acme", str(uuid.uuid4()))
    assert missing.stderr.startswith("Event endpoint '")
    unknown = await cli(
        "event-endpoint",
        "create",
        "--tenant",
        "acme",
        "--url",
        "https://a.example",
        "--type",
        "task.exploded",
    )
    assert unknown.exit_code != 0
    assert await hooks.audit() == []
