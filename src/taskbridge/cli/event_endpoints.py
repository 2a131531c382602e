"""``taskbridge event-endpoint …``: a tenant's event webhooks from the server's shell."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.cli.runtime import (
    JsonOption,
    TenantOption,
    dump,
    fail,
    load_settings,
    print_json,
    reported_failures,
    run,
    say,
)
from taskbridge.dispatch.schemas import DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS
from taskbridge.event_endpoints import service
from taskbridge.event_endpoints.presenters import (
    present_delivery,
    present_endpoint,
    present_endpoint_with_secret,
)
from taskbridge.event_endpoints.schemas import (
    EventDeliveryRead,
    EventEndpointCreate,
    EventEndpointRead,
    EventEndpointUpdate,
    EventEndpointWithSecret,
)
from taskbridge.events.schemas import EventType
from taskbridge.kit.time import AWARE_RULE, parse_aware
from taskbridge.tenants import service as tenants

app = typer.Typer(help="Event webhooks of a tenant.", no_args_is_help=True)

EndpointId = Annotated[
    uuid.UUID, typer.Argument(help="The endpoint's id (see `event-endpoint list`).")
]


def _line(endpoint: EventEndpointRead) -> str:
    state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason or '-'})"
    types = ",".join(endpoint.event_types) or "*"
    return f"{endpoint.id}\t{state}\t{types}\t{endpoint.url}"


@app.command("create")
def create(
    tenant: TenantOption,
    url: Annotated[str, typer.Option(help="The http(s) URL events are POSTed to.")],
    event_type: Annotated[
        list[EventType] | None,
        typer.Option("--type", help="Only this event type (repeat it); none: every type."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the endpoint is for.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Send the tenant's events to URL; the signing secret is printed now and never again."""
    settings = load_settings()
    with reported_failures():
        body = EventEndpointCreate(
            url=url, event_types=list(event_type or []), description=description
        )

    async def work(session: AsyncSession) -> EventEndpointWithSecret:
        found = await tenants.get_by_slug(session, tenant)
        shown = await service.create_endpoint(session, found.id, body, settings)
        return present_endpoint_with_secret(shown)

    endpoint = run(work, settings)
    if as_json:
        print_json(dump(endpoint))
        return
    say(f"Created event endpoint {endpoint.id} → {endpoint.url}")
    say(f"Signing secret (shown only this once): {endpoint.signing_secret}")


@app.command("list")
def list_(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """The tenant's event endpoints (never their secrets); a disabled one says why."""

    async def work(session: AsyncSession) -> list[EventEndpointRead]:
        found = await tenants.get_by_slug(session, tenant)
        endpoints, _total = await service.list_endpoints(session, found.id, offset=0, limit=1000)
        return [present_endpoint(e) for e in endpoints]

    endpoints = run(work)
    if as_json:
        print_json({"data": [dump(e) for e in endpoints]})
        return
    for endpoint in endpoints:
        say(_line(endpoint))


@app.command("disable")
def disable(tenant: TenantOption, endpoint_id: EndpointId, as_json: JsonOption = False) -> None:
    """Stop sending: the pending deliveries are canceled."""
    settings = load_settings()

    async def work(session: AsyncSession) -> EventEndpointRead:
        found = await tenants.get_by_slug(session, tenant)
        update = EventEndpointUpdate(enabled=False)
        return present_endpoint(
            await service.update_endpoint(session, found.id, endpoint_id, update, settings)
        )

    endpoint = run(work, settings)
    if as_json:
        print_json(dump(endpoint))
    else:
        say(f"Disabled event endpoint {endpoint.id}")


@app.command("rotate")
def rotate(
    tenant: TenantOption,
    endpoint_id: EndpointId,
    overlap_seconds: Annotated[
        int,
        typer.Option(help="How long the old secret also signs.", min=0, max=MAX_OVERLAP_SECONDS),
    ] = DEFAULT_OVERLAP_SECONDS,
    as_json: JsonOption = False,
) -> None:
    """A new signing secret, printed now and never again; the old one signs beside it for
    --overlap-seconds."""
    settings = load_settings()

    async def work(session: AsyncSession) -> EventEndpointWithSecret:
        found = await tenants.get_by_slug(session, tenant)
        shown = await service.rotate_secret(
            session, found.id, endpoint_id, overlap_seconds=overlap_seconds, settings=settings
        )
        return present_endpoint_with_secret(shown)

    endpoint = run(work, settings)
    if as_json:
        print_json(dump(endpoint))
        return
    say(f"Rotated the signing secret of event endpoint {endpoint.id}")
    say(f"Signing secret (shown only this once): {endpoint.signing_secret}")


def _instant(value: str) -> datetime:
    try:
        return parse_aware(value)
    except ValueError:
        fail(f"--since {AWARE_RULE}")


@app.command("redeliver")
def redeliver(
    tenant: TenantOption,
    endpoint_id: EndpointId,
    since: Annotated[
        str | None,
        typer.Option(
            help="Every kept event at or after this ISO 8601 instant.", show_default=False
        ),
    ] = None,
    delivery: Annotated[
        uuid.UUID | None, typer.Option(help="Only this delivery.", show_default=False)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send again one delivery (--delivery) or every event since a time (--since)."""
    if (since is None) == (delivery is None):
        fail("give exactly one of --since and --delivery")
    if delivery is not None:

        async def one(session: AsyncSession) -> EventDeliveryRead:
            found = await tenants.get_by_slug(session, tenant)
            row, attempts = await service.redeliver(session, found.id, endpoint_id, delivery)
            return present_delivery(row, attempts)

        shown = run(one)
        if as_json:
            print_json(dump(shown))
        else:
            say(f"Queued delivery {shown.id} ({shown.event_type}) again")
        return
    assert since is not None
    start = _instant(since)

    async def all_since(session: AsyncSession) -> int:
        found = await tenants.get_by_slug(session, tenant)
        return await service.redeliver_since(session, found.id, endpoint_id, start)

    queued = run(all_since)
    if as_json:
        print_json({"queued": queued})
    else:
        say(f"Queued {queued} deliveries")
