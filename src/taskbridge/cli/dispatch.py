"""``taskbridge dispatch-config …`` (push configs of a tenant) and ``taskbridge dispatcher``."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Coroutine
from typing import Annotated, Any

import typer
from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities.status import Channel
from taskbridge.cli.runtime import (
    CLI_ACTOR,
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
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory
from taskbridge.dispatch import deliveries, service
from taskbridge.dispatch.ping import PingResult, ping
from taskbridge.dispatch.presenters import (
    present_config,
    present_config_with_secret,
    present_delivery,
    present_test_attempt,
)
from taskbridge.dispatch.schemas import (
    DeliveryRead,
    DispatchConfigCreate,
    DispatchConfigRead,
    DispatchConfigUpdate,
    DispatchConfigWithSecret,
    Provider,
)
from taskbridge.dispatch.worker import Dispatcher
from taskbridge.kit.logging import configure_logging
from taskbridge.tenants import service as tenants

try:
    import uvloop
except ImportError:  # pragma: no cover - not on every platform
    uvloop = None  # type: ignore[assignment]

app = typer.Typer(help="Push dispatch configs of a tenant.", no_args_is_help=True)

ConfigId = Annotated[
    uuid.UUID, typer.Argument(help="The config's id (see `dispatch-config list`).")
]


def _line(config: DispatchConfigRead) -> str:
    state = "active" if config.is_active else f"inactive ({config.deactivated_reason or '-'})"
    return (
        f"{config.id}\t{config.channel}\t{config.provider}\t{state}\t{config.endpoint_url or '-'}"
    )


@app.command("create")
def create(
    tenant: TenantOption,
    channel: Annotated[Channel, typer.Option(help="The channel whose tasks are pushed.")],
    provider: Annotated[Provider, typer.Option(help="WEBHOOK, or MOCK (no network).")] = (
        Provider.WEBHOOK
    ),
    endpoint_url: Annotated[str | None, typer.Option(help="http(s) URL (WEBHOOK).")] = None,
    auth_header_name: Annotated[str | None, typer.Option(help="e.g. x-api-key.")] = None,
    auth_header_value: Annotated[
        str | None, typer.Option(help="Stored encrypted, never shown again.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Push a channel's tasks; the signing secret is printed now and never again."""
    settings = load_settings()
    with reported_failures():
        body = DispatchConfigCreate(
            channel=channel,
            provider=provider,
            endpoint_url=endpoint_url,
            auth_header_name=auth_header_name,
            auth_header_value=auth_header_value,
        )

    async def work(session: AsyncSession) -> DispatchConfigWithSecret:
        found = await tenants.get_by_slug(session, tenant)
        shown = await service.create_config(session, found.id, body, settings)
        return present_config_with_secret(shown)

    config = run(work, settings)
    if as_json:
        print_json(dump(config))
        return
    say(f"Created dispatch config {config.id}: {config.channel} → {config.endpoint_url or 'MOCK'}")
    say(f"Signing secret (shown only this once): {config.signing_secret}")


@app.command("list")
def list_(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """The tenant's dispatch configs (never their secrets)."""

    async def work(session: AsyncSession) -> list[DispatchConfigRead]:
        found = await tenants.get_by_slug(session, tenant)
        configs, _total = await service.list_configs(session, found.id, offset=0, limit=1000)
        return [present_config(c) for c in configs]

    configs = run(work)
    if as_json:
        print_json({"data": [dump(c) for c in configs]})
        return
    for config in configs:
        say(_line(config))


@app.command("disable")
def disable(tenant: TenantOption, config_id: ConfigId, as_json: JsonOption = False) -> None:
    """Stop pushing: pending deliveries are canceled and the tasks stay READY (pull mode)."""
    settings = load_settings()

    async def work(session: AsyncSession) -> DispatchConfigRead:
        found = await tenants.get_by_slug(session, tenant)
        update = DispatchConfigUpdate(is_active=False)
        return present_config(
            await service.update_config(session, found.id, config_id, update, settings)
        )

    config = run(work, settings)
    if as_json:
        print_json(dump(config))
    else:
        say(f"Disabled dispatch config {config.id} ({config.channel})")


@app.command("test")
def send_test(tenant: TenantOption, config_id: ConfigId, as_json: JsonOption = False) -> None:
    """Send a signed ping event now; exit status 1 unless the endpoint answers 2xx."""
    settings = load_settings()

    async def tenant_id(session: AsyncSession) -> uuid.UUID:
        return (await tenants.get_by_slug(session, tenant)).id

    found = run(tenant_id, settings)

    async def send() -> PingResult:
        engine = create_engine(settings)
        try:
            return await ping(create_session_factory(engine), found, config_id, settings)
        finally:
            await engine.dispose()

    with reported_failures():
        result = asyncio.run(send())
    shown = present_test_attempt(result.webhook_id, result.attempt)
    if not shown.success:
        fail(f"test event failed: {shown.error or shown.outcome} ({shown.duration_ms} ms)")
    if as_json:
        print_json(dump(shown))
    else:
        say(f"{shown.outcome} {shown.status_code or '-'} in {shown.duration_ms} ms")


@app.command("retry")
def retry(
    tenant: TenantOption,
    activity_id: Annotated[uuid.UUID, typer.Argument(help="A READY or FAILED task's id.")],
    as_json: JsonOption = False,
) -> None:
    """Force (re)dispatch of a task: a FAILED task becomes READY and is queued now."""

    async def work(session: AsyncSession) -> DeliveryRead:
        found = await tenants.get_by_slug(session, tenant)
        delivery = await deliveries.force_dispatch(session, found.id, activity_id, actor=CLI_ACTOR)
        attempts = await deliveries.attempts_of(session, found.id, delivery)
        return present_delivery(delivery, attempts)

    delivery = run(work)
    if as_json:
        print_json(dump(delivery))
    else:
        say(f"Queued delivery {delivery.id} of task {delivery.activity_id}")


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop when installed (uvicorn[standard] brings it), which spends less CPU per delivery."""
    if uvloop is None:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def _dispatch_until_signalled(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine = create_engine(settings)
    try:
        await Dispatcher(settings, create_session_factory(engine)).run(stop)
    finally:
        await engine.dispose()


def dispatcher(
    concurrency: Annotated[
        int | None, typer.Option(help="Deliveries in flight at once.", min=1, max=500)
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this process's /metrics on 127.0.0.1:PORT.")
    ] = None,
) -> None:
    """Send pushed tasks until SIGTERM or Ctrl-C; sends in flight finish, the rest is released."""
    settings = load_settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"dispatch_concurrency": concurrency})
    configure_logging(settings.log_level, as_json=settings.log_json)
    with reported_failures():
        if metrics_port is not None:
            start_http_server(metrics_port, addr="127.0.0.1")
        run_event_loop(_dispatch_until_signalled(settings))
