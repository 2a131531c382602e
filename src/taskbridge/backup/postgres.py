"""PostgreSQL is backed up and restored with its own tools; taskbridge says which command to run.

The commands name the database by URL *without* its password: a command line is visible to every
user of the machine (``ps``) and lands in shell histories. libpq reads the password from
``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url


@dataclass(frozen=True, slots=True)
class Commands:
    """What to run, and whether the configured URL carried a password (left out of it)."""

    lines: list[str]
    has_password: bool


def _libpq_url(database_url: str) -> tuple[str, bool]:
    """The URL as libpq takes it (``postgresql://``, no driver), with no password in it."""
    url = make_url(database_url)
    query = {k: v for k, v in url.query.items() if k.lower() != "password"}
    # Built afresh: ``URL.set(password=None)`` leaves the password in place.
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )
    has_password = url.password is not None or len(query) < len(url.query)
    return plain.render_as_string(hide_password=False), has_password


def dump_commands(database_url: str, path: str) -> Commands:
    """A custom-format dump (compressed, restorable table by table with ``pg_restore``)."""
    url, has_password = _libpq_url(database_url)
    line = f"pg_dump --format=custom --file={shlex.quote(path)} --dbname={shlex.quote(url)}"
    return Commands([line], has_password)


def restore_commands(database_url: str, path: str) -> Commands:
    """``pg_restore`` over the configured database, then the migrations a newer taskbridge has."""
    url, has_password = _libpq_url(database_url)
    lines = [
        "pg_restore --clean --if-exists --no-owner --single-transaction "
        f"--dbname={shlex.quote(url)} {shlex.quote(path)}",
        "taskbridge db upgrade",
    ]
    return Commands(lines, has_password)
