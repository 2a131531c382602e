"""``tenant``, ``apikey`` and ``result-type``: what a person or a script sees."""

from __future__ import annotations

import uuid

import httpx

from taskbridge.auth.permissions import Permission
from tests.cli.conftest import Cli

CONFIGS = "/api/integration/task-result-type-configs"


async def test_tenant_create_prints_the_tenant(cli: Cli) -> None:
    created = await cli.json("tenant", "create", "--name", "Acme Ltd", "--slug", "acme")
    assert set(created) == {"id", "name", "slug", "locale", "timeZone", "createdAt"}
    assert created["name"] == "Acme Ltd"
    assert created["slug"] == "acme"
    assert created["locale"] == "es"
    assert created["timeZone"] == "UTC"
    uuid.UUID(created["id"])

    text = await cli.ok(
        "tenant", "create", "--name", "Globex", "--slug", "globex", "--locale", "en"
    )
    assert text.stdout.startswith("Created tenant 'globex' (Globex)")
    listed = await cli.json("tenant", "list")
    assert [(t["slug"], t["locale"]) for t in listed["data"]] == [("acme", "es"), ("globex", "en")]


async def test_tenant_create_refusals_are_one_line(cli: Cli, acme: str) -> None:
    taken = await cli.refused("tenant", "create", "--name", "Again", "--slug", acme)
    assert taken.stderr == "Tenant slug 'acme' is already taken\n"
    bad = await cli.refused("tenant", "create", "--name", "Bad", "--slug", "Not A Slug")
    assert bad.stderr.startswith("slug: ")
    assert bad.stderr.count("\n") == 1


async def test_apikey_create_list_revoke(cli: Cli, acme: str, client: httpx.AsyncClient) -> None:
    created = await cli.json(
        "apikey", "create", "--tenant", acme, "--name", "crm",
        "--permission", "VIEW_ACTIVITIES", "--permission", "SUBMIT_ACTIVITY_RESULT",
    )  # fmt: skip
    assert {"id", "keyPrefix", "plaintextKey", "permissions"} <= set(created)
    assert created["plaintextKey"].startswith("tb_sk_")
    assert created["keyPrefix"] == created["plaintextKey"][:14]
    assert created["permissions"] == ["SUBMIT_ACTIVITY_RESULT", "VIEW_ACTIVITIES"]
    headers = {"x-api-key": created["plaintextKey"]}
    assert (await client.get(CONFIGS, headers=headers)).json() == []

    listed = await cli.json("apikey", "list", "--tenant", acme)
    assert [k["id"] for k in listed["data"]] == [created["id"]]
    assert "plaintextKey" not in listed["data"][0]
    text = await cli.ok("apikey", "list", "--tenant", acme)
    assert created["plaintextKey"] not in text.stdout
    assert created["keyPrefix"] in text.stdout

    revoked = await cli.ok("apikey", "revoke", "--tenant", acme, created["id"])
    assert revoked.stdout == f"Revoked API key 'crm' ({created['id']})\n"
    assert (await client.get(CONFIGS, headers=headers)).status_code == 401
    again = await cli.json("apikey", "revoke", "--tenant", acme, created["id"])
    assert again["revokedAt"] is not None


async def test_apikey_bad_permission_is_one_stderr_line(cli: Cli, acme: str) -> None:
    result = await cli.refused(
        "apikey", "create", "--tenant", acme, "--name", "crm", "--permission", "VIEW_EVERYTHING"
    )
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("permissions: unknown permission 'VIEW_EVERYTHING'; valid: ")
    assert str(Permission.SUBMIT_ACTIVITY_RESULT) in result.stderr
    assert (await cli.json("apikey", "list", "--tenant", acme))["data"] == []


async def test_apikey_expiry_must_carry_a_time_zone(cli: Cli, acme: str) -> None:
    naive = await cli.refused(
        "apikey", "create", "--tenant", acme, "--name", "crm",
        "--permission", "VIEW_ACTIVITIES", "--expires-at", "2030-01-01T00:00:00",
    )  # fmt: skip
    assert naive.stderr.startswith("expires_at: must be an ISO 8601 timestamp with a time zone")
    created = await cli.json(
        "apikey", "create", "--tenant", acme, "--name", "crm",
        "--permission", "VIEW_ACTIVITIES", "--expires-at", "2030-01-01T02:00:00+02:00",
    )  # fmt: skip
    assert created["expiresAt"] == "2030-01-01T00:00:00.000Z"


async def test_unknown_tenant(cli: Cli) -> None:
    result = await cli.refused("apikey", "list", "--tenant", "nobody")
    assert result.stderr == "Tenant 'nobody' not found\n"


async def test_result_types_add_update_archive_restore(
    cli: Cli, acme: str, client: httpx.AsyncClient
) -> None:
    added = await cli.json(
        "result-type", "add", "--tenant", acme, "--code", "RESCHEDULE",
        "--label", "Reprogramar", "--requires-future-scheduled-at",
    )  # fmt: skip
    assert added["code"] == "RESCHEDULE"
    assert added["requiresFutureScheduledAt"] is True
    assert added["isActive"] is True
    await cli.ok("result-type", "add", "--tenant", acme, "--code", "SOLD", "--label", "Vendido")
    key = await cli.json(
        "apikey", "create", "--tenant", acme, "--name", "k", "--permission", "VIEW_ACTIVITIES"
    )
    headers = {"x-api-key": key["plaintextKey"]}

    updated = await cli.json(
        "result-type", "update", "--tenant", acme, "--code", "RESCHEDULE",
        "--label", "Reprogramar visita", "--no-requires-future-scheduled-at",
        "--translation", "en=Reschedule visit",
    )  # fmt: skip
    assert updated["label"] == "Reprogramar visita"
    assert updated["requiresFutureScheduledAt"] is False
    assert updated["translations"] == {"en": "Reschedule visit"}
    english = await client.get(CONFIGS, headers={**headers, "accept-language": "en"})
    assert english.json() == [
        {"code": "RESCHEDULE", "label": "Reschedule visit", "requiresFutureScheduledAt": False},
        {"code": "SOLD", "label": "Vendido", "requiresFutureScheduledAt": False},
    ]
    removed = await cli.json(
        "result-type", "update", "--tenant", acme, "--code", "RESCHEDULE", "--translation", "en="
    )
    assert removed["translations"] == {}
    assert removed["label"] == "Reprogramar visita"

    archived = await cli.json("result-type", "archive", "--tenant", acme, "--code", "RESCHEDULE")
    assert archived["isActive"] is False
    assert [c["code"] for c in (await client.get(CONFIGS, headers=headers)).json()] == ["SOLD"]
    listed = await cli.json("result-type", "list", "--tenant", acme)
    assert [(rt["code"], rt["isActive"]) for rt in listed["data"]] == [
        ("SOLD", True),
        ("RESCHEDULE", False),
    ]
    await cli.ok("result-type", "restore", "--tenant", acme, "--code", "RESCHEDULE")
    codes = [c["code"] for c in (await client.get(CONFIGS, headers=headers)).json()]
    assert codes == ["SOLD", "RESCHEDULE"]


async def test_result_type_refusals(cli: Cli, acme: str) -> None:
    await cli.ok("result-type", "add", "--tenant", acme, "--code", "SOLD", "--label", "Vendido")
    twice = await cli.refused(
        "result-type", "add", "--tenant", acme, "--code", "SOLD", "--label", "Otra vez"
    )
    assert twice.stderr == "Result type code 'SOLD' already exists in this tenant\n"
    missing = await cli.refused("result-type", "archive", "--tenant", acme, "--code", "NOPE")
    assert missing.stderr == "Result type 'NOPE' not found\n"
    blank = await cli.refused(
        "result-type", "update", "--tenant", acme, "--code", "SOLD", "--label", "   "
    )
    assert blank.stderr == "label: must not be blank\n"
    malformed = await cli.refused(
        "result-type", "update", "--tenant", acme, "--code", "SOLD", "--translation", "english"
    )
    assert malformed.stderr == "translation: 'english' must look like LANG=Text\n"
