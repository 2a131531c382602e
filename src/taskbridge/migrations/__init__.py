"""Alembic migrations, shipped inside the package so an installed wheel can upgrade its database."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from taskbridge.config import Settings
from taskbridge.db import ensure_database_folder

SCRIPT_LOCATION = str(Path(__file__).parent)


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", settings.resolved_database_url())
    config.attributes["configure_logger"] = False
    return config


@cache
def migration_heads() -> frozenset[str]:
    """The revisions ``taskbridge db upgrade`` brings a database to (``head``), read from the
    shipped scripts once per process: they cannot change under a running process."""
    return frozenset(ScriptDirectory(SCRIPT_LOCATION).get_heads())


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply pending migrations (blocking; call from a thread when an event loop runs)."""
    ensure_database_folder(settings)
    command.upgrade(alembic_config(settings), revision)
