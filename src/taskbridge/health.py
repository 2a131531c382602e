"""``/healthz`` and ``/readyz``: whether to restart this process, and whether to send it traffic.

A load balancer or orchestrator polls both without credentials, so neither says more than it
must: no version, revision, hostname or URL. Both are plain routes, outside the unit of work
(no session is opened) and outside the API's query check (a prober's ``?probe=1`` is harmless);
they are not in the OpenAPI document, which describes the integration and admin contract, as
``/metrics`` is not.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

import structlog
from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from taskbridge.db import UNLOCKED_READ
from taskbridge.errors import error_response
from taskbridge.kit.outage import DRIVER_ERRORS, RETRY_AFTER_SECONDS, Trouble, database_trouble
from taskbridge.migrations import migration_heads

PROBE_SECONDS = 1.0
"""How long the database has to answer the readiness probe."""
NOT_STORED = {"cache-control": "no-store"}
_METHODS = ["GET", "HEAD"]
"""Some balancers probe with ``HEAD``."""

log = structlog.get_logger(__name__)
router = APIRouter()


class Unready(StrEnum):
    """Why this process should not be sent traffic now."""

    SLOW = "slow"
    UNREACHABLE = "unreachable"
    BEHIND = "behind"


UNREADY_MESSAGES = {
    Unready.SLOW: f"The database did not answer within {PROBE_SECONDS:g} s",
    Unready.UNREACHABLE: "The database is unreachable",
    Unready.BEHIND: "The database schema is not at the migration head: run `taskbridge db upgrade`",
}
UNREADY_RETRY_SECONDS = {
    Unready.SLOW: RETRY_AFTER_SECONDS[Trouble.BUSY],
    Unready.UNREACHABLE: RETRY_AFTER_SECONDS[Trouble.UNREACHABLE],
    Unready.BEHIND: RETRY_AFTER_SECONDS[Trouble.UNREACHABLE],
}


@router.api_route("/healthz", methods=_METHODS, include_in_schema=False)
async def healthz() -> Response:
    """The process answers; nothing else is looked at (a database outage is not cured by
    restarting the servers)."""
    return Response(b'{"status":"ok"}', media_type="application/json", headers=NOT_STORED)


@router.api_route("/readyz", methods=_METHODS, include_in_schema=False)
async def readyz(request: Request) -> Response:
    """Ready when the database answers within :data:`PROBE_SECONDS` and its schema is the one
    this code was written for; otherwise 503 in the contract body, saying which."""
    unready = await check_readiness(request.app.state.engine)
    _log_change(request, unready)
    if unready is None:
        return Response(b'{"status":"ready"}', media_type="application/json", headers=NOT_STORED)
    response = error_response(503, UNREADY_MESSAGES[unready])
    response.headers.update({"Retry-After": str(UNREADY_RETRY_SECONDS[unready]), **NOT_STORED})
    return response


_abandoned: set[asyncio.Task[Unready | None]] = set()
"""Probes past their second, still giving their connection back (kept from the collector)."""


async def check_readiness(engine: AsyncEngine) -> Unready | None:
    """:func:`probe`, answered within :data:`PROBE_SECONDS` even when giving its connection
    back takes longer (an SQLite statement cancelled in its thread runs to its end first)."""
    probing = asyncio.ensure_future(probe(engine))
    try:
        return await asyncio.wait_for(asyncio.shield(probing), PROBE_SECONDS)
    except TimeoutError:
        return Unready.SLOW
    finally:
        if not probing.done():  # timed out, or the prober hung up
            probing.cancel()
            _abandoned.add(probing)
            probing.add_done_callback(_forget)


def _forget(probing: asyncio.Task[Unready | None]) -> None:
    _abandoned.discard(probing)
    if not probing.cancelled():
        probing.exception()  # retrieved: its outcome no longer matters


async def probe(engine: AsyncEngine) -> Unready | None:
    """One pooled connection: ``SELECT 1``, then the applied revisions; None when ready."""
    try:
        async with engine.connect() as connection:
            reading = await connection.execution_options(**{UNLOCKED_READ: True})
            await reading.execute(text("SELECT 1"))
            revisions = await _applied_revisions(reading)
    except PoolTimeout:
        return Unready.SLOW
    except DRIVER_ERRORS:
        return Unready.UNREACHABLE
    return None if revisions == migration_heads() else Unready.BEHIND


async def _applied_revisions(connection: AsyncConnection) -> frozenset[str]:
    """The revisions recorded by Alembic; none when the database was never migrated."""
    try:
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError as exc:
        if database_trouble(exc) is not None:
            raise
        return frozenset()  # no version table
    return frozenset(result.scalars())


def _log_change(request: Request, unready: Unready | None) -> None:
    """One line when this process becomes unready or ready again, not one per probe."""
    state = request.app.state
    if getattr(state, "unready", None) == unready:
        return
    state.unready = unready
    if unready is None:
        log.info("ready")
    else:
        log.warning("not_ready", reason=str(unready))
