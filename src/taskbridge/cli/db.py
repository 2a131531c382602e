"""``taskbridge db``: the database schema."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from taskbridge.cli.runtime import load_settings, reported_failures, say
from taskbridge.migrations import upgrade as apply_migrations

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (safe to run on an up-to-date database)."""
    settings = load_settings()
    with reported_failures():
        apply_migrations(settings)
    url = make_url(settings.resolved_database_url()).render_as_string(hide_password=True)
    say(f"Database is up to date: {url}")
