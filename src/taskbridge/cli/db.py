"""``taskbridge db``: the database schema, backups and restores, retention."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from taskbridge.backup import postgres, sqlite
from taskbridge.cli.runtime import (
    JsonOption,
    fail,
    load_settings,
    print_json,
    reported_failures,
    say,
)
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory
from taskbridge.migrations import upgrade as apply_migrations
from taskbridge.retention import service as retention

app = typer.Typer(help="Database schema, backups and retention.", no_args_is_help=True)

ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace an existing file (it is lost: keep a copy).")
]
SECRET_KEY_REMINDER = (
    "The secret key is not in the backup: keep TASKBRIDGE_SECRET_KEY (or {key_file}) with it; "
    "dispatch secrets sealed with it open with no other key."
)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (safe to run on an up-to-date database)."""
    settings = load_settings()
    with reported_failures():
        apply_migrations(settings)
    url = make_url(settings.resolved_database_url()).render_as_string(hide_password=True)
    say(f"Database is up to date: {url}")


def _sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file of the settings; None on PostgreSQL; anything else is refused."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "postgresql":
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        fail("backups cover an SQLite file or a PostgreSQL database only")
    return Path(url.database)


def _print_commands(commands: postgres.Commands, what: str, as_json: bool) -> None:
    if as_json:
        print_json({"commands": commands.lines, "passwordLeftOut": commands.has_password})
        return
    say(f"PostgreSQL is {what} with its own tools; run:")
    for line in commands.lines:
        say(f"  {line}")
    if commands.has_password:
        say("The password is left out: set PGPASSWORD (or use ~/.pgpass) before running it.")


def _describe(copy: sqlite.Inspection) -> dict[str, object]:
    return {
        "path": str(copy.path),
        "sizeBytes": copy.size_bytes,
        "revision": copy.revision,
        "integrity": "ok",
        "tables": copy.tables,
    }


def _say_tables(copy: sqlite.Inspection) -> None:
    width = max((len(name) for name in copy.tables), default=0)
    for name, rows in copy.tables.items():
        say(f"  {name:<{width}}  {rows}")


@app.command("backup")
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write.", show_default=False)],
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Copy the SQLite database to PATH, safely while taskbridge serves, and check the copy.
    On PostgreSQL, print the pg_dump command to run instead."""
    settings = load_settings()
    database = _sqlite_file(settings)
    if database is None:
        commands = postgres.dump_commands(settings.resolved_database_url(), str(path))
        _print_commands(commands, "backed up", as_json)
        return
    with reported_failures():
        copy = sqlite.back_up(database, path, overwrite=force)
    if as_json:
        print_json(_describe(copy))
        return
    say(
        f"Backed up {database} to {copy.path}: {copy.size_bytes} bytes, "
        f"schema revision {copy.revision}, integrity ok"
    )
    _say_tables(copy)
    say(SECRET_KEY_REMINDER.format(key_file=settings.data_dir / "secret_key"))


@app.command("restore")
def restore(
    path: Annotated[Path, typer.Argument(help="The backup file to restore.", show_default=False)],
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Replace the SQLite database with the backup at PATH (checked first; refused while a
    server has the database open), then migrate it to this version's schema. On PostgreSQL,
    print the pg_restore command to run instead."""
    settings = load_settings()
    database = _sqlite_file(settings)
    if database is None:
        commands = postgres.restore_commands(settings.resolved_database_url(), str(path))
        _print_commands(commands, "restored", as_json)
        return
    with reported_failures():
        restored = sqlite.restore(path, database, overwrite=force)
        apply_migrations(settings)
        migrated = sqlite.inspect(database)
    if as_json:
        print_json(
            {**_describe(migrated), "restoredFrom": str(path), "backupRevision": restored.revision}
        )
        return
    say(
        f"Restored {path} into {database}: schema revision {restored.revision}"
        + ("" if migrated.revision == restored.revision else f", migrated to {migrated.revision}")
        + ", integrity ok"
    )
    _say_tables(migrated)


async def _purge_now(settings: Settings, batch_size: int) -> retention.Purged:
    engine = create_engine(settings)
    try:
        return await retention.purge(
            create_session_factory(engine),
            delivery_retention=retention.delivery_retention_of(settings),
            audit_retention=retention.audit_retention_of(settings),
            batch_size=batch_size,
        )
    finally:
        await engine.dispose()


@app.command("purge")
def purge(
    batch_size: Annotated[
        int, typer.Option(help="Rows deleted per transaction.", min=1, max=100_000)
    ] = retention.BATCH_SIZE,
    as_json: JsonOption = False,
) -> None:
    """Delete now what the background purge deletes every ten minutes: expired idempotency
    records, aged failed sign-ins, delivery attempts of closed deliveries older than
    TASKBRIDGE_DELIVERY_RETENTION_DAYS, and audit entries older than
    TASKBRIDGE_AUDIT_RETENTION_DAYS."""
    settings = load_settings()
    with reported_failures():
        purged = asyncio.run(_purge_now(settings, batch_size))
    counts = {
        "idempotencyRecords": purged.idempotency_records,
        "loginFailures": purged.login_failures,
        "deliveryAttempts": purged.delivery_attempts,
        "auditEntries": purged.audit_entries,
    }
    if as_json:
        print_json(counts)
        return
    say(
        f"Purged {purged.idempotency_records} expired idempotency records, "
        f"{purged.login_failures} aged failed sign-ins, {purged.delivery_attempts} delivery "
        f"attempts of closed deliveries past the {settings.delivery_retention_days}-day retention, "
        f"{purged.audit_entries} audit entries past the {settings.audit_retention_days}-day one"
    )
