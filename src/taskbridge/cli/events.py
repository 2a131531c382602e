"""``taskbridge events tail``: follow a tenant's event feed, one JSON line per event."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Annotated

import typer

from taskbridge.cli.runtime import TenantOption, load_settings, reported_failures
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.events import service as events
from taskbridge.events.schemas import MAX_WAIT_SECONDS, EventQuery
from taskbridge.events.wakeups import FeedSignal
from taskbridge.tenants import service as tenants

app = typer.Typer(help="The event feed of a tenant.", no_args_is_help=True)


async def _tail(
    settings: Settings, slug: str, types: str | None, after: str | None, count: int
) -> None:
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    signal = FeedSignal(settings.resolved_database_url())
    retention = timedelta(days=settings.event_retention_days)
    printed = 0
    query = EventQuery(after=after, types=types, wait=MAX_WAIT_SECONDS)
    try:
        async with session_scope(factory) as session:
            tenant_id = (await tenants.get_by_slug(session, slug)).id
        while count == 0 or printed < count:
            page = await events.follow(factory, signal, tenant_id, query, retention=retention)
            for event in page.events[: count - printed if count else None]:
                typer.echo(json.dumps(event, ensure_ascii=False))
                printed += 1
            query = query.model_copy(update={"after": page.next_cursor})
    finally:
        await signal.close()
        await engine.dispose()


@app.command("tail")
def tail(
    tenant: TenantOption,
    types: Annotated[
        str | None,
        typer.Option(help="Only these event types, comma-separated.", show_default=False),
    ] = None,
    after: Annotated[
        str | None,
        typer.Option(help="Start after this cursor (an event's id); default: the oldest kept."),
    ] = None,
    count: Annotated[
        int, typer.Option(min=0, help="Stop after this many events (0: follow until Ctrl-C).")
    ] = 0,
) -> None:
    """Print the tenant's events as JSON lines, oldest first, then wait for new ones."""
    settings = load_settings()
    with reported_failures():
        try:
            asyncio.run(_tail(settings, tenant, types, after, count))
        except KeyboardInterrupt:
            return
