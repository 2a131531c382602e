"""``taskbridge user``: create, set-role, reset-password, list."""

from __future__ import annotations

import asyncio
import json

import httpx
from typer.testing import CliRunner, Result

from taskbridge.cli import app
from tests.cli.conftest import Cli


async def _run(cli: Cli, *args: str, stdin: str = "") -> Result:
    runner = CliRunner(env=cli.env)
    return await asyncio.to_thread(lambda: runner.invoke(app, list(args), input=stdin))


async def test_create_set_role_and_reset_password(
    cli: Cli, acme: str, client: httpx.AsyncClient
) -> None:
    created = await _run(
        cli,
        "user",
        "create",
        "--tenant",
        acme,
        "--email",
        "Ana@Acme.test",
        "--role",
        "ADMIN",
        "--password-stdin",
        "--json",
        stdin="first-password\n",
    )
    assert created.exit_code == 0, created.stderr
    body = json.loads(created.stdout)
    assert (body["email"], body["role"]) == ("ana@acme.test", "ADMIN")
    login = await client.post(
        "/api/auth/login", json={"email": "ana@acme.test", "password": "first-password"}
    )
    assert login.status_code == 200

    changed = await cli.json(
        "user", "set-role", "--tenant", acme, "--email", "ana@acme.test", "--role", "VIEWER"
    )
    assert changed["role"] == "VIEWER"

    reset = await _run(
        cli,
        "user",
        "reset-password",
        "--tenant",
        acme,
        "--email",
        "ana@acme.test",
        "--password-stdin",
        stdin="second-password\n",
    )
    assert reset.exit_code == 0
    assert reset.stdout == (
        f"Reset the password of user ana@acme.test (id {body['id']}) in 'acme' as VIEWER\n"
    )
    old = await client.post(
        "/api/auth/login", json={"email": "ana@acme.test", "password": "first-password"}
    )
    assert old.status_code == 401

    listed = await cli.json("user", "list", "--tenant", acme)
    assert [(u["email"], u["role"]) for u in listed["data"]] == [("ana@acme.test", "VIEWER")]


async def test_refusals_name_the_reason(cli: Cli, acme: str) -> None:
    short = await _run(
        cli,
        "user",
        "create",
        "--tenant",
        acme,
        "--email",
        "a@acme.test",
        "--role",
        "ADMIN",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.exit_code == 1
    assert short.stderr == "password: must be at least 8 characters\n"
    no_stdin = await cli.refused(
        "user", "create", "--tenant", acme, "--email", "a@acme.test", "--role", "ADMIN"
    )
    assert "--password-stdin" in no_stdin.stderr
    bad_role = await _run(
        cli,
        "user",
        "create",
        "--tenant",
        acme,
        "--email",
        "a@acme.test",
        "--role",
        "OWNER",
        "--password-stdin",
        stdin="long-enough\n",
    )
    assert bad_role.stderr == "role: must be one of SUPER_ADMIN, ADMIN, FDE, VIEWER\n"
    missing = await cli.refused(
        "user", "set-role", "--tenant", acme, "--email", "nobody@acme.test", "--role", "FDE"
    )
    assert missing.stderr == "User 'nobody@acme.test' not found in this tenant\n"
