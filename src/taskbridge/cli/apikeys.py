"""``taskbridge apikey``: integrators' keys (the plaintext is shown once, at creation)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.auth import service as auth
from taskbridge.auth.schemas import ApiKeyCreated, ApiKeyRead
from taskbridge.cli.runtime import JsonOption, TenantOption, dump, fail, print_json, run, say
from taskbridge.kit.time import parse_aware, utcnow
from taskbridge.tenants import service as tenants

app = typer.Typer(help="API keys of a tenant.", no_args_is_help=True)


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_aware(value)
    except ValueError as exc:
        fail(f"expires_at: {exc}")


def key_status(key: ApiKeyRead) -> str:
    """``active``, ``revoked`` or ``expired``, as a person reading a listing wants to know."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= utcnow():
        return "expired"
    return "active"


@app.command("create")
def create(
    tenant: TenantOption,
    name: Annotated[str, typer.Option(help="What the key is for.", show_default=False)],
    permission: Annotated[
        list[str],
        typer.Option(help="A permission to grant (repeat for several).", show_default=False),
    ],
    expires_at: Annotated[
        str | None, typer.Option(help="ISO 8601 with a time zone, e.g. 2027-01-01T00:00:00Z.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key; its plaintext is printed now and never again."""
    expiry = _expiry(expires_at)

    async def work(session: AsyncSession) -> ApiKeyCreated:
        found = await tenants.get_by_slug(session, tenant)
        created = await auth.create_api_key(
            session, found.id, name=name, permissions=permission, expires_at=expiry
        )
        read = ApiKeyRead.model_validate(created.key)
        return ApiKeyCreated(**read.model_dump(), plaintext_key=created.plaintext)

    key = run(work)
    if as_json:
        print_json(dump(key))
        return
    say(f"Created API key '{key.name}' (id {key.id}) for tenant '{tenant}'")
    say(f"Permissions: {', '.join(key.permissions)}")
    say(f"Key (shown only this once): {key.plaintext_key}")


@app.command("list")
def list_(tenant: TenantOption, as_json: JsonOption = False) -> None:
    """The tenant's keys, newest first (prefixes only, never the key itself)."""

    async def work(session: AsyncSession) -> list[ApiKeyRead]:
        found = await tenants.get_by_slug(session, tenant)
        return [ApiKeyRead.model_validate(k) for k in await auth.list_api_keys(session, found.id)]

    keys = run(work)
    if as_json:
        print_json({"data": [dump(k) for k in keys]})
        return
    for key in keys:
        used = dump(key)["lastUsedAt"] or "never used"
        say(
            f"{key.id}\t{key.key_prefix}…\t{key_status(key)}\t{key.name}\t"
            f"{','.join(key.permissions)}\t{used}"
        )


@app.command("revoke")
def revoke(
    tenant: TenantOption,
    key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id (see `apikey list`).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: it stops working at once; revoking twice is harmless."""

    async def work(session: AsyncSession) -> ApiKeyRead:
        found = await tenants.get_by_slug(session, tenant)
        return ApiKeyRead.model_validate(await auth.revoke_api_key(session, found.id, key_id))

    key = run(work)
    if as_json:
        print_json(dump(key))
    else:
        say(f"Revoked API key '{key.name}' ({key.id})")
