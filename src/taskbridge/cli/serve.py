"""``taskbridge serve``: migrate, then run the HTTP server."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from taskbridge.cli.runtime import fail, load_settings, reported_failures
from taskbridge.config import TRUST_EVERY_PROXY, parse_trusted_proxies
from taskbridge.migrations import upgrade

APP_FACTORY = "taskbridge.app:create_app"
WORKER_START_SECONDS = 60
EVERY_CLIENT_TRUSTED = (
    "warning: forwarded-allow-ips is *: X-Forwarded-For and X-Forwarded-Proto are believed from "
    "every client, so every client can spoof its address (the login throttle's key) and scheme"
)


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
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-For/-Proto are believed: addresses or networks, "
            "comma-separated, or * [default: TASKBRIDGE_FORWARDED_ALLOW_IPS, else none]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Apply pending migrations, then serve the API with uvicorn (the app factory, per worker)."""
    settings = load_settings()
    try:
        trusted = (
            settings.trusted_proxies()
            if forwarded_allow_ips is None
            else parse_trusted_proxies(forwarded_allow_ips)
        )
    except ValueError as exc:
        fail(str(exc))
    if trusted == [TRUST_EVERY_PROXY]:
        typer.echo(EVERY_CLIENT_TRUSTED, err=True)
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
        # Forwarding headers only from the proxies named (uvicorn alone would trust 127.0.0.1).
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        loop="uvloop",
        http="httptools",
        # A worker imports the whole app before it can answer the supervisor's health ping: on a
        # loaded host uvicorn's 5 s default kills it mid-start, again and again.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )
