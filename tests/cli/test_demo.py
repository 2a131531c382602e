"""``taskbridge demo``: a tenant to try, idempotent, with a key that works."""

from __future__ import annotations

import httpx

from taskbridge.kit.time import utcnow
from tests.cli.conftest import Cli

CONFIGS = "/api/integration/task-result-type-configs"
TASKS = "/api/integration/activities/tasks"

SEED_CONFIGS = [
    {"code": "SALE_COMPLETED", "label": "Venta completada", "requiresFutureScheduledAt": False},
    {"code": "NOT_INTERESTED", "label": "No interesado", "requiresFutureScheduledAt": False},
    {"code": "RESCHEDULE", "label": "Reprogramar visita", "requiresFutureScheduledAt": True},
    {"code": "NO_CONTACT", "label": "Sin contacto", "requiresFutureScheduledAt": False},
]


async def test_demo_twice_changes_nothing_but_the_key(cli: Cli, client: httpx.AsyncClient) -> None:
    first = await cli.json("demo")
    second = await cli.json("demo")
    assert set(second) == {"tenant", "apiKey", "plaintextKey", "curl", "admin"}
    assert second["tenant"] == first["tenant"]
    assert second["tenant"]["slug"] == "demo"
    assert second["tenant"]["name"] == "Demo"
    assert second["apiKey"]["permissions"] == ["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]
    assert second["plaintextKey"] != first["plaintextKey"]
    assert second["curl"] == (
        "curl -s http://127.0.0.1:8000/api/integration/task-result-type-configs "
        f'-H "x-api-key: {second["plaintextKey"]}"'
    )

    headers = {"x-api-key": second["plaintextKey"]}
    configs = await client.get(CONFIGS, headers=headers)
    assert configs.status_code == 200
    assert configs.json() == SEED_CONFIGS
    english = await client.get(CONFIGS, headers={**headers, "accept-language": "en"})
    assert [c["label"] for c in english.json()] == [
        "Sale completed",
        "Not interested",
        "Reschedule visit",
        "No contact",
    ]
    tasks = (await client.get(TASKS, headers=headers)).json()
    assert tasks["meta"]["total"] == 3
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert all(t["status"] == "PENDING" and t["scheduledAt"] > now for t in tasks["data"])
    assert (
        await client.get(CONFIGS, headers={"x-api-key": first["plaintextKey"]})
    ).status_code == 401

    keys = (await cli.json("apikey", "list", "--tenant", "demo"))["data"]
    assert sorted((k["name"], k["revokedAt"] is None) for k in keys) == [
        ("demo integrator", False),
        ("demo integrator", True),
    ]


async def test_demo_text_output_and_base_url(cli: Cli) -> None:
    result = await cli.ok("demo", "--base-url", "https://tb.example.com/")
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Demo tenant 'demo' is ready: 4 result types, 3 commerces, 2 operators, 3 tasks."
    )
    key = lines[1].removeprefix("API key (shown only this once): ")
    assert key.startswith("tb_sk_")
    assert lines[2:5] == [
        "Try it:",
        "  curl -s https://tb.example.com/api/integration/task-result-type-configs "
        f'-H "x-api-key: {key}"',
        "Web panel: https://tb.example.com/admin",
    ]
    assert lines[5].startswith(
        "  sign in as admin@demo.local with the password (new on every run): "
    )


async def test_demo_keeps_the_administrators_changes(cli: Cli, client: httpx.AsyncClient) -> None:
    await cli.ok("demo")
    await cli.ok("result-type", "archive", "--tenant", "demo", "--code", "NO_CONTACT")
    again = await cli.json("demo")
    configs = await client.get(CONFIGS, headers={"x-api-key": again["plaintextKey"]})
    assert [c["code"] for c in configs.json()] == ["SALE_COMPLETED", "NOT_INTERESTED", "RESCHEDULE"]
