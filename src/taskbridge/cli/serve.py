"""``taskbridge serve``: migrate, then run the HTTP server."""

from __future__ import annotations

import os
import resource
from typing import Annotated

import typer
import uvicorn

from taskbridge.cli.runtime import fail, load_settings, reported_failures
from taskbridge.config import TRUST_EVERY_PROXY, Settings, parse_trusted_proxies
from taskbridge.kit.http_protocol import MAX_HEAD_BYTES
from taskbridge.kit.logging import configure_logging
from taskbridge.kit.metrics import use_multiprocess_directory
from taskbridge.migrations import upgrade

APP_FACTORY = "taskbridge.app:create_app"
HTTP_PROTOCOL = "taskbridge.kit.http_protocol:BoundedHttpToolsProtocol"
"""An import string: every worker process builds its connections with it."""
MAX_DEFAULT_CONNECTIONS = 1024
FILES_RESERVED = 64
"""Open files a server process needs besides connections and its database pool (logs, pipes,
the event loop, imports)."""
WORKER_START_SECONDS = 60
WORKERS_VARIABLE = "TASKBRIDGE_WORKERS"
"""How serve tells each worker how many processes serve (``Settings.workers``)."""
RATE_LIMITS_OFF = (
    "warning: rate limits are OFF: {workers} worker processes and no TASKBRIDGE_REDIS_URL "
    "(a count in each process's memory is not a limit); set TASKBRIDGE_REDIS_URL, or serve with "
    "--workers 1"
)
EVERY_CLIENT_TRUSTED = (
    "warning: forwarded-allow-ips is *: X-Forwarded-For and X-Forwarded-Proto are believed from "
    "every client, so every client can spoof its address (the login throttle's key) and scheme"
)


def default_workers() -> int:
    """One process per core, measured best on 2 cores (configs 2.2x, task pages 1.4x one worker)."""
    return max(1, min(os.cpu_count() or 1, 4))


def default_connection_limit(settings: Settings, open_files: int) -> int:
    """Connections per process that leave room under the open-file limit for the database pool
    (three files a connection on SQLite: database, WAL, shared memory) and the in-process
    dispatcher's sends: past it requests get 503 instead of the server failing to accept."""
    reserved = FILES_RESERVED + 3 * settings.db_pool_size
    if settings.runs_dispatcher_in_process():
        reserved += settings.dispatch_concurrency
    return max(1, min(MAX_DEFAULT_CONNECTIONS, open_files - reserved))


def has_rate_limits(settings: Settings) -> bool:
    return bool(settings.rate_limit_per_key or settings.rate_limit_per_tenant)


def open_files_limit() -> int:
    """This process's soft limit on open files (inherited by the worker processes)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return MAX_DEFAULT_CONNECTIONS * 2 if soft == resource.RLIM_INFINITY else soft


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
            "comma-separated, or * (default: TASKBRIDGE_FORWARDED_ALLOW_IPS, else none)",
            show_default=False,
        ),
    ] = None,
    limit_concurrency: Annotated[
        int | None,
        typer.Option(
            help="Connections each process keeps open; requests beyond them get 503 "
            "(default: TASKBRIDGE_LIMIT_CONCURRENCY, else derived from the open-file limit, "
            f"at most {MAX_DEFAULT_CONNECTIONS})",
            min=1,
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
    processes = workers or default_workers()
    os.environ[WORKERS_VARIABLE] = str(processes)  # read by every worker's Settings
    if processes > 1 and settings.redis_url is None and has_rate_limits(settings):
        typer.echo(RATE_LIMITS_OFF.format(workers=processes), err=True)
    # Alembic's lines and the supervisor's (several workers) come before any app is built.
    configure_logging(settings.log_level, as_json=settings.log_json)
    with reported_failures():
        upgrade(settings)
    use_multiprocess_directory(processes)  # before the workers start: the group's metrics
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_level=settings.log_level.lower(),
        # No formatters of uvicorn's own: its loggers propagate to the one pipeline
        # (kit.logging), which each worker's app factory sets up again.
        log_config=None,
        access_log=access_log,
        # Forwarding headers only from the proxies named (uvicorn alone would trust 127.0.0.1).
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        loop="uvloop",
        # httptools plus deadlines for a request's head and body, and a cap on the head's size
        # (TASKBRIDGE_HEADER_TIMEOUT_SECONDS, _BODY_TIMEOUT_SECONDS): uvicorn has neither.
        http=HTTP_PROTOCOL,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        limit_concurrency=limit_concurrency
        or settings.limit_concurrency
        or default_connection_limit(settings, open_files_limit()),
        timeout_keep_alive=settings.keep_alive_seconds,
        # A worker imports the whole app before it can answer the supervisor's health ping: on a
        # loaded host uvicorn's 5 s default kills it mid-start, again and again.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )
