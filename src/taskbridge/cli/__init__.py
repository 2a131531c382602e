"""The ``taskbridge`` command line: one module per area, each a thin layer over the services.

To add an area, write ``cli/<area>.py`` with its own ``app = typer.Typer()`` (or a single command
function) and list it in :data:`SUB_APPS` (or :data:`COMMANDS`) below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from taskbridge.cli import (
    apikeys,
    audit,
    config,
    db,
    demo,
    dispatch,
    event_endpoints,
    events,
    imports,
    result_types,
    serve,
    tenants,
    users,
)

SUB_APPS: list[tuple[str, typer.Typer]] = [
    ("db", db.app),
    ("tenant", tenants.app),
    ("apikey", apikeys.app),
    ("result-type", result_types.app),
    ("import", imports.app),
    ("dispatch-config", dispatch.app),
    ("user", users.app),
    ("config", config.app),
    ("audit", audit.app),
    ("events", events.app),
    ("event-endpoint", event_endpoints.app),
]
"""Command groups: ``taskbridge <name> <command> ...``."""

COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    ("demo", demo.demo),
    ("serve", serve.serve),
    ("dispatcher", dispatch.dispatcher),
]
"""Single commands: ``taskbridge <name> ...``."""


def build_app() -> typer.Typer:
    root = typer.Typer(
        name="taskbridge",
        help="taskbridge: task activities for field and call-center teams.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name, sub_app in SUB_APPS:
        root.add_typer(sub_app, name=name)
    for name, command in COMMANDS:
        root.command(name)(command)
    return root


app = build_app()


def main() -> None:
    """Entry point of the ``taskbridge`` script."""
    app(prog_name="taskbridge")
