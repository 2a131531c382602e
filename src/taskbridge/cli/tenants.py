"""``taskbridge tenant``: the companies that use taskbridge."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.cli.runtime import JsonOption, dump, print_json, run, say
from taskbridge.tenants import service as tenants
from taskbridge.tenants.schemas import Locale, TenantCreate, TenantRead

app = typer.Typer(help="Tenants.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Display name.", show_default=False)],
    slug: Annotated[str, typer.Option(help="Short unique id: a-z, 0-9, '-'.", show_default=False)],
    locale: Annotated[Locale, typer.Option(help="Default language.")] = Locale.ES,
    time_zone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    as_json: JsonOption = False,
) -> None:
    """Create a tenant."""

    async def work(session: AsyncSession) -> TenantRead:
        data = TenantCreate(name=name, slug=slug, locale=locale, time_zone=time_zone)
        return TenantRead.model_validate(await tenants.create(session, data))

    tenant = run(work)
    if as_json:
        print_json(dump(tenant))
    else:
        say(f"Created tenant '{tenant.slug}' ({tenant.name}), id {tenant.id}")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """Every tenant, by slug."""

    async def work(session: AsyncSession) -> list[TenantRead]:
        return [TenantRead.model_validate(t) for t in await tenants.list_all(session)]

    found = run(work)
    if as_json:
        print_json({"data": [dump(t) for t in found]})
        return
    for tenant in found:
        say(f"{tenant.slug}\t{tenant.name}\t{tenant.locale}\t{tenant.time_zone}\t{tenant.id}")
