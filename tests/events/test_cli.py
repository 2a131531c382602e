"""``taskbridge events tail``: the feed's first client, one JSON line per event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from taskbridge.db import session_scope
from tests.factories import build_world, create_task
from tests.servers import SCRIPT, run_cli, server_env

HANG_GUARD = 60


async def test_tail_prints_the_feed_then_follows_it(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    world = await build_world(session_factory)
    env = server_env(settings)
    done = run_cli(env, "events", "tail", "--tenant", "acme", "--count", "5")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["type"] for e in lines] == ["result_type.created"] * 4 + ["task.created"]
    assert lines[-1]["subjectId"] == str(world.task.id)

    following = await asyncio.create_subprocess_exec(
        *(SCRIPT, "events", "tail", "--tenant", "acme", "--after", lines[-1]["id"]),
        *("--types", "task.created", "--count", "1"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with session_scope(session_factory) as session:
            task = await create_task(session, world.tenant.id)
        out, err = await asyncio.wait_for(following.communicate(), HANG_GUARD)
    finally:
        if following.returncode is None:
            following.kill()
            await following.wait()
    assert following.returncode == 0, err
    [event] = [json.loads(line) for line in out.decode().splitlines()]
    assert event["type"] == "task.created"
    assert event["subjectId"] == str(task.id)


async def test_tail_refuses_an_unknown_tenant_or_type(settings: Settings) -> None:
    env = server_env(settings)
    unknown = run_cli(env, "events", "tail", "--tenant", "nobody", "--count", "1")
    assert unknown.returncode == 1
    assert "nobody" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    bad = run_cli(env, "events", "tail", "--tenant", "nobody", "--types", "task.exploded")
    assert bad.returncode == 1
    assert "types" in bad.stderr
