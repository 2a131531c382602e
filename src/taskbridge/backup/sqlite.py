"""SQLite backups taken while ``serve`` writes, and restores that check before they replace.

A backup is SQLite's online backup API run inside one read transaction of the source: in WAL
mode a reader never blocks writers (they append to the WAL), and the read transaction pins one
snapshot, so copying page batch after page batch never restarts however much is written
meanwhile (without it, every write by another process restarts the copy from page one, which
under steady writes may never finish). The copy is written to a temporary file next to the
destination, switched to a rollback journal (one self-contained file), checked
(``PRAGMA integrity_check``), flushed to disk, then renamed into place: the destination is either
the previous file or a complete, checked copy, never half of one.

A restore copies the backup the same way, checks it is a taskbridge database, and refuses to
replace a database that a process still has open. How that is seen: every connection to a
WAL-mode database keeps a shared lock on the file while it is open (taskbridge's connections
read it as they connect), and leaving WAL mode (``PRAGMA journal_mode=DELETE``) needs every other
connection closed, so the restore asks for exactly that, waiting at most
:data:`IN_USE_TIMEOUT_SECONDS`. ``BEGIN EXCLUSIVE`` would not do: in WAL mode it does not
exclude readers. A server started in the instant between that check and the rename is not
seen; stop serve and every dispatcher before restoring.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory

from taskbridge.backup import BackupRefused
from taskbridge.migrations import SCRIPT_LOCATION

PAGES_PER_STEP = 256
"""Pages copied per backup step (1 MiB at 4 KiB pages); steps run back to back, no sleep."""
BUSY_TIMEOUT_SECONDS = 10.0
"""How long opening the source waits for a lock (it needs none in WAL mode, bar recovery)."""
IN_USE_TIMEOUT_SECONDS = 1.0
SIDE_FILES = ("-wal", "-shm", "-journal")
"""What SQLite keeps beside a database file; stale ones must not meet a restored file."""


@dataclass(frozen=True, slots=True)
class Inspection:
    """A checked database file: its size, schema revision and rows per table."""

    path: Path
    size_bytes: int
    revision: str
    tables: dict[str, int] = field(default_factory=dict)


def _uri(path: Path) -> str:
    """Opens an existing file only: ``sqlite3.connect`` would silently create a missing one."""
    return f"{path.resolve().as_uri()}?mode=rw"


@contextlib.contextmanager
def _connected(path: Path, timeout: float = BUSY_TIMEOUT_SECONDS) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(_uri(path), uri=True, timeout=timeout, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def _next_to(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _put_in_place(temporary: Path, destination: Path) -> None:
    """Rename a complete, flushed file over ``destination``, and flush the rename too."""
    _fsync(temporary)
    os.replace(temporary, destination)
    _fsync(destination.parent)


def _copy_snapshot(source: Path, temporary: Path) -> None:
    """The online backup API within one read transaction of ``source`` (see the module)."""
    try:
        _copy_pinned(source, temporary)
    except sqlite3.Error as exc:
        raise BackupRefused(f"cannot copy {source}: {exc}") from None


def _copy_pinned(source: Path, temporary: Path) -> None:
    with _connected(source) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # pins the snapshot
        target = sqlite3.connect(temporary, isolation_level=None)
        try:
            reader.backup(target, pages=PAGES_PER_STEP, sleep=0)
            target.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            target.close()
        reader.execute("COMMIT")


def _self_contained(path: Path) -> None:
    """Fold any WAL into the file and leave WAL mode: one file, no side files."""
    try:
        with _connected(path) as connection:
            connection.execute("PRAGMA journal_mode=DELETE").fetchone()
    except sqlite3.Error as exc:
        raise BackupRefused(f"cannot prepare the copy of the backup: {exc}") from None


def inspect(path: Path, shown_as: Path | None = None) -> Inspection:
    """Check ``path`` is an intact taskbridge database (integrity, Alembic revision) and count
    its rows; refusals name ``shown_as`` (the user's file, not a temporary copy of it)."""
    shown = shown_as or path
    try:
        with _connected(path) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupRefused(f"{shown} fails its integrity check: {'; '.join(problems[:3])}")
            revision = _revision(connection, shown)
            names = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            tables = {name: _count_rows(connection, name) for name in names}
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{shown} is not a usable SQLite database: {exc}") from None
    return Inspection(path, path.stat().st_size, revision, tables)


def _count_rows(connection: sqlite3.Connection, table: str) -> int:
    """A table name read from the file itself, quoted as an identifier (a crafted file could
    name a table anything)."""
    quoted = '"' + table.replace('"', '""') + '"'
    return int(connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])  # noqa: S608


def _revision(connection: sqlite3.Connection, path: Path) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None:
        raise BackupRefused(f"{path} is not a taskbridge database (it has no schema revision)")
    return str(row[0])


def _check_known(found: Inspection, shown: Path) -> None:
    """A backup from a newer taskbridge has tables this code does not know: refused."""
    known = {script.revision for script in ScriptDirectory(SCRIPT_LOCATION).walk_revisions()}
    if found.revision not in known:
        raise BackupRefused(
            f"{shown} is at schema revision {found.revision}, which this taskbridge does "
            "not know (a newer version made it): upgrade taskbridge, then restore"
        )


def _refuse_existing(path: Path, overwrite: bool, what: str) -> None:
    if path.is_dir():
        raise BackupRefused(f"{path} is a folder; name the {what} file")
    if path.exists() and not overwrite:
        raise BackupRefused(f"{path} exists; pass --force to replace it")


def back_up(source: Path, destination: Path, *, overwrite: bool = False) -> Inspection:
    """A checked copy of the live database ``source`` at ``destination`` (see the module)."""
    if not source.is_file():
        raise BackupRefused(f"no database at {source}")
    _refuse_existing(destination, overwrite, "backup")
    if destination.exists() and destination.samefile(source):
        raise BackupRefused(f"{destination} is the database itself")
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = _next_to(destination)
    try:
        _copy_snapshot(source, temporary)
        inspect(temporary, shown_as=destination)
        _put_in_place(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    return inspect(destination)


def ensure_unused(database: Path) -> None:
    """Refuse while another connection has ``database`` open (see the module for how)."""
    try:
        with _connected(database, timeout=IN_USE_TIMEOUT_SECONDS) as connection:
            connection.execute("PRAGMA journal_mode=DELETE").fetchone()
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise BackupRefused(
                f"{database} is in use (a taskbridge serve or dispatcher has it open); "
                "stop them, then restore"
            ) from None
    except sqlite3.DatabaseError:
        pass  # not a database at all: nobody can be using it as one


def restore(backup: Path, target: Path, *, overwrite: bool = False) -> Inspection:
    """Put a checked copy of ``backup`` in place of the database ``target`` (see the module).

    Returns the inspection of the restored file (the backup's revision): migrating it to the
    head is the caller's.
    """
    if not backup.is_file():
        raise BackupRefused(f"no backup at {backup}")
    _refuse_existing(target, overwrite, "database")
    if target.exists() and target.samefile(backup):
        raise BackupRefused(f"{backup} is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _next_to(target)
    try:
        shutil.copyfile(backup, temporary)
        _check_known(inspect(temporary, shown_as=backup), backup)
        _self_contained(temporary)
        if target.exists():
            ensure_unused(target)
        for suffix in SIDE_FILES:
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        _put_in_place(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return inspect(target)
