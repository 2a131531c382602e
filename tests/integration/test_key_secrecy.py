"""An API key's plaintext exists only in the create response: not in the database, logs or /me."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from taskbridge.auth import service as auth
from taskbridge.db import session_scope
from taskbridge.kit.crypto import KEY_PREFIX_LENGTH, hash_api_key
from taskbridge.kit.uow import REQUEST_SESSION
from tests.factories import INTEGRATOR, World
from tests.integration.support import CONFIGS, ME, SUBMIT, TASKS, submission_for


async def dump_database(factory: async_sessionmaker[AsyncSession]) -> str:
    """Every row of every table of the database, as text."""
    async with factory() as session:
        connection: AsyncConnection = await session.connection()
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        lines = []
        for table in tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
            lines.extend(f"{table}: {tuple(row)!r}" for row in rows)
        await session.rollback()
    return "\n".join(lines)


def refuse_request_commits(session: Session) -> None:
    if session.info.get(REQUEST_SESSION):
        raise RuntimeError("commit refused by the test")


async def use_the_key_everywhere(client: httpx.AsyncClient, world: World, key: str) -> None:
    """Successes, refusals and a server error, all carrying the key."""
    headers = {"x-api-key": key}
    assert (await client.get(CONFIGS, headers=headers)).status_code == 200
    assert (await client.get(TASKS, headers=headers)).status_code == 200
    assert (await client.get(f"{TASKS}/{world.task.id}", headers=headers)).status_code == 200
    label = submission_for(world, "Venta completada")
    assert (await client.post(SUBMIT, headers=headers, json=label)).status_code == 400
    event.listen(Session, "before_commit", refuse_request_commits)
    try:
        failed = await client.post(SUBMIT, headers=headers, json=submission_for(world))
    finally:
        event.remove(Session, "before_commit", refuse_request_commits)
    assert failed.status_code == 500
    replayable = {**headers, "Idempotency-Key": "once"}
    assert (
        await client.post(SUBMIT, headers=replayable, json=submission_for(world))
    ).status_code == 201
    assert (
        await client.post(SUBMIT, headers=headers, json=submission_for(world))
    ).status_code == 409
    assert (await client.get(ME, headers=headers)).status_code == 200


async def test_plaintext_is_nowhere_but_the_create_response(
    client: httpx.AsyncClient,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    async with session_scope(session_factory) as session:
        created = await auth.create_api_key(
            session, world.tenant.id, name="secret", permissions=[str(p) for p in INTEGRATOR]
        )
    plaintext = created.plaintext
    secret_part = plaintext[KEY_PREFIX_LENGTH:]
    await use_the_key_everywhere(client, world, plaintext)

    me = await client.get(ME, headers={"x-api-key": plaintext})
    assert me.json()["apiKey"]["keyPrefix"] == plaintext[:KEY_PREFIX_LENGTH]
    assert secret_part not in me.text

    async with session_scope(session_factory) as session:
        await auth.revoke_api_key(session, world.tenant.id, created.key.id)
    assert (await client.get(ME, headers={"x-api-key": plaintext})).status_code == 401

    dump = await dump_database(session_factory)
    assert hash_api_key(plaintext) in dump, "the dump must see the api_keys table"
    captured = capsys.readouterr()
    # The log pipeline (kit.logging) writes every logger's lines, rendered, to stderr.
    assert "unexpected_error" in captured.err, "the log capture must see the 500"
    outputs = {
        "database": dump,
        "logging": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
    }
    for where, content in outputs.items():
        assert secret_part not in content, where
