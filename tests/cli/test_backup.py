"""``taskbridge db backup`` under write load, and ``db restore`` into a fresh data folder.

A real ``taskbridge serve`` on SQLite is kept busy by clients creating tasks through the API
while a real ``taskbridge db backup`` process copies the database. The backup is restored into
a fresh folder, a server is started on it, and every task whose creation was acknowledged (201)
before the backup started must be there. On PostgreSQL both commands only print what to run.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.auth.permissions import Permission
from taskbridge.backup.sqlite import PAGES_PER_STEP
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.migrations import SCRIPT_LOCATION, upgrade
from tests.cli.conftest import Cli
from tests.conftest import is_postgres
from tests.factories import build_world, create_key
from tests.integration.support import add_tasks, in_days
from tests.servers import SCRIPT, server_env, start_server, stop, wait_for

HANG_GUARD_SECONDS = 120.0
PAGE_SIZE = 4096
"""SQLite's default page size, which taskbridge keeps."""
WRITERS = 3
SEED_TASKS = 1500
"""Enough rows (with long reasons) for a database of several MiB: the copy takes many steps."""
ACKNOWLEDGED_BEFORE_BACKUP = 30
"""Creations answered before the backup starts (at least; the writers keep going)."""
LONG_REASON = "Visita mensual; " * 60
PG_PASSWORD = "Sup3r-secret-pw"
"""Made up: the output must not show it."""

sqlite_only = pytest.mark.skipif(
    is_postgres(), reason="SQLite only: on PostgreSQL the commands print what to run (tested below)"
)


@dataclass
class Writes:
    """Each acknowledged creation's task id and when its 201 arrived; anything else."""

    acknowledged: list[tuple[str, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def before(self, moment: float) -> set[str]:
        return {task_id for task_id, at in self.acknowledged if at < moment}


async def _writer(url: str, key: str, number: int, writes: Writes, done: asyncio.Event) -> None:
    """Create tasks until ``done``; a 503 (database busy) is retried, anything else recorded."""
    async with httpx.AsyncClient(base_url=url, timeout=HANG_GUARD_SECONDS) as client:
        count = 0
        while not done.is_set():
            body = {
                "idempotency_key": f"writer-{number}-{count}",
                "commerce_external_id": "COM-001",
                "channel": "CALLCENTER",
                "scheduled_at": in_days(1),
                "reason": LONG_REASON,
            }
            try:
                response = await client.post(
                    "/api/activities/tasks", json=body, headers={"x-api-key": key}
                )
            except httpx.TransportError as exc:
                writes.failures.append(f"connection lost: {exc!r}")
                return
            if response.status_code == 503:
                continue
            if response.status_code != 201:
                writes.failures.append(f"{response.status_code} {response.text[:200]}")
                return
            writes.acknowledged.append((response.json()["id"], time.monotonic()))
            count += 1


async def _seed(factory: async_sessionmaker[AsyncSession]) -> str:
    """Tenant acme with COM-001 and many tasks; a key that may create and read tasks."""
    world = await build_world(factory)
    scheduled = [world.task.scheduled_at] * SEED_TASKS
    await add_tasks(factory, world.tenant.id, scheduled, reason=LONG_REASON)
    async with session_scope(factory) as session:
        return await create_key(
            session, world.tenant.id, Permission.CREATE_ACTIVITY, Permission.VIEW_ACTIVITIES
        )


async def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        SCRIPT, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), HANG_GUARD_SECONDS)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _wait_for_writes(writes: Writes, count: int) -> None:
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        # The writers append as answers arrive; polled, with the timeout as a hang guard.
        while len(writes.acknowledged) < count and not writes.failures:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def _head() -> str:
    (head,) = ScriptDirectory(SCRIPT_LOCATION).get_heads()
    return str(head)


def _integrity(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("PRAGMA integrity_check")]


def _missing(url: str, key: str, task_ids: set[str]) -> list[str]:
    """The ids among ``task_ids`` the server does not know (GET is not a 200)."""
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=30) as client:
        return [
            i for i in sorted(task_ids) if client.get(f"/api/activities/{i}").status_code != 200
        ]


@sqlite_only
async def test_a_backup_under_write_load_restores_every_acknowledged_write(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    key = await _seed(session_factory)
    backup = tmp_path / "backups" / "taskbridge.db"
    server = start_server(server_env(settings), tmp_path)
    writes, stop_writing = Writes(), asyncio.Event()
    try:
        await asyncio.to_thread(wait_for, [server])
        writers = [
            asyncio.create_task(_writer(server.url, key, n, writes, stop_writing))
            for n in range(WRITERS)
        ]
        await _wait_for_writes(writes, ACKNOWLEDGED_BEFORE_BACKUP)
        started = time.monotonic()
        code, out, err = await _run(server_env(settings), "db", "backup", str(backup), "--json")
        finished = time.monotonic()
        stop_writing.set()
        await asyncio.wait_for(asyncio.gather(*writers), HANG_GUARD_SECONDS)
    finally:
        stop_writing.set()
        stop([server.process])
    during = len(writes.before(finished)) - len(writes.before(started))
    print(f"\nbackup: {finished - started:.2f} s, {during} creations answered meanwhile")

    assert writes.failures == [], server.output()[-4000:]
    assert code == 0, err
    copied = json.loads(out)
    assert copied["integrity"] == "ok"
    assert copied["revision"] == _head()
    # Three backup steps at least, so the server could write between them.
    assert copied["sizeBytes"] == backup.stat().st_size > 2 * PAGES_PER_STEP * PAGE_SIZE
    acknowledged = writes.before(started)
    assert copied["tables"]["activities"] >= SEED_TASKS + len(acknowledged)
    assert list(tmp_path.joinpath("backups").iterdir()) == [backup]  # no temporary file left

    fresh = tmp_path / "restored"
    restored_env = server_env(settings, TASKBRIDGE_DATA_DIR=str(fresh))
    restored_env["TASKBRIDGE_DATABASE_URL"] = f"sqlite:///{fresh / 'taskbridge.db'}"
    code, out, err = await _run(restored_env, "db", "restore", str(backup))
    assert code == 0, err
    assert f"Restored {backup} into {fresh / 'taskbridge.db'}" in out
    assert _integrity(fresh / "taskbridge.db") == ["ok"]

    restored = start_server(restored_env, tmp_path)
    try:
        await asyncio.to_thread(wait_for, [restored])
        assert await asyncio.to_thread(_missing, restored.url, key, acknowledged) == []
        # While a server has it open, even --force is refused, and the database is untouched.
        code, out, err = await _run(restored_env, "db", "restore", str(backup), "--force")
        assert (code, out) == (1, "")
        assert "is in use" in err
        assert await asyncio.to_thread(_missing, restored.url, key, acknowledged) == []
    finally:
        stop([restored.process])
    assert _integrity(fresh / "taskbridge.db") == ["ok"]


@sqlite_only
async def test_restore_refuses_an_existing_database_without_force(
    cli: Cli, settings: Settings, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    await cli.ok("tenant", "create", "--name", "Acme", "--slug", "acme")
    await cli.ok("db", "backup", str(backup))
    await cli.ok("tenant", "create", "--name", "Globex", "--slug", "globex")

    refused = await cli.refused("db", "restore", str(backup))
    assert "--force" in refused.stderr
    assert "globex" in (await cli.ok("tenant", "list")).stdout

    restored = await cli.json("db", "restore", str(backup), "--force")
    assert restored["tables"]["tenants"] == 1
    assert restored["integrity"] == "ok"
    listed = (await cli.ok("tenant", "list")).stdout
    assert "acme" in listed
    assert "globex" not in listed


@sqlite_only
async def test_backup_refuses_to_overwrite_without_force(cli: Cli, tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    backup.write_bytes(b"an earlier backup")
    refused = await cli.refused("db", "backup", str(backup))
    assert "--force" in refused.stderr
    assert backup.read_bytes() == b"an earlier backup"

    copied = await cli.json("db", "backup", str(backup), "--force")
    assert copied["integrity"] == "ok"
    assert _integrity(backup) == ["ok"]


@sqlite_only
async def test_restore_refuses_what_is_not_a_taskbridge_database(
    cli: Cli, settings: Settings, tmp_path: Path
) -> None:
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database\n" * 100)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    database = settings.data_dir / "taskbridge.db"
    before = database.read_bytes()

    assert (
        "not a usable SQLite database"
        in (await cli.refused("db", "restore", str(not_sqlite), "--force")).stderr
    )
    assert (
        "not a taskbridge database"
        in (await cli.refused("db", "restore", str(other), "--force")).stderr
    )
    assert database.read_bytes() == before
    assert [p.name for p in settings.data_dir.iterdir() if p.name.endswith(".tmp")] == []


@sqlite_only
async def test_restoring_an_older_backup_migrates_it_to_the_head(
    settings: Settings, tmp_path: Path
) -> None:
    heads = ScriptDirectory(SCRIPT_LOCATION)
    previous = heads.get_revision(_head()).down_revision
    assert isinstance(previous, str)
    old = Settings(data_dir=tmp_path / "old", secret_key=settings.secret_key)
    await asyncio.to_thread(upgrade, old, previous)
    old_cli = Cli(env={"TASKBRIDGE_DATA_DIR": str(old.data_dir), "TASKBRIDGE_DATABASE_URL": ""})
    backup = tmp_path / "old-backup.db"
    assert (await old_cli.json("db", "backup", str(backup)))["revision"] == previous

    fresh = Cli(env={"TASKBRIDGE_DATA_DIR": str(tmp_path / "fresh"), "TASKBRIDGE_DATABASE_URL": ""})
    restored = await fresh.json("db", "restore", str(backup))
    assert (restored["backupRevision"], restored["revision"]) == (previous, _head())


async def test_postgresql_prints_the_commands_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://taskbridge:{PG_PASSWORD}@db.internal:5432/taskbridge"
    cli = Cli(env={"TASKBRIDGE_DATABASE_URL": url, "TASKBRIDGE_DATA_DIR": str(tmp_path)})
    dump = tmp_path / "taskbridge.dump"

    backed_up = await cli.ok("db", "backup", str(dump))
    restored = await cli.ok("db", "restore", str(dump))

    assert (
        f"pg_dump --format=custom --file={dump} "
        "--dbname=postgresql://taskbridge@db.internal:5432/taskbridge"
    ) in backed_up.stdout
    assert "pg_restore" in restored.stdout
    assert "taskbridge db upgrade" in restored.stdout
    for result in (backed_up, restored):
        assert PG_PASSWORD not in result.stdout + result.stderr
        assert "PGPASSWORD" in result.stdout
    as_json = await cli.json("db", "backup", str(dump))
    assert as_json["passwordLeftOut"] is True
    assert PG_PASSWORD not in json.dumps(as_json)
    assert not dump.exists()
