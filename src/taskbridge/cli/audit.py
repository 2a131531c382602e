"""``taskbridge audit``: read a tenant's audit log from the server's shell."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.audit.presenters import present_entry
from taskbridge.audit.repository import AuditFilters
from taskbridge.audit.schemas import AuditEntryRead
from taskbridge.cli.runtime import TenantOption, dump, fail, print_json, run
from taskbridge.kit.pagination import MAX_PER_PAGE
from taskbridge.kit.time import AWARE_RULE, parse_aware
from taskbridge.tenants import service as tenants

app = typer.Typer(help="The audit log: administrator changes and sign-ins.", no_args_is_help=True)

MAX_LISTED = 10_000


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_aware(value)
    except ValueError:
        fail(f"--since {AWARE_RULE}")


@app.command("list")
def list_(
    tenant: TenantOption,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. api_key.created.", show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only entries at or after this ISO 8601 instant.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option(help="At most this many entries.", min=1, max=MAX_LISTED)
    ] = 50,
) -> None:
    """The newest entries first, one JSON object per line (as GET /api/audit-log shows them)."""
    filters = AuditFilters(action=action, since=_instant(since))

    async def work(session: AsyncSession) -> list[AuditEntryRead]:
        found = await tenants.get_by_slug(session, tenant)
        shown: list[AuditEntryRead] = []
        cursor: str | None = None
        while len(shown) < limit:
            page = min(MAX_PER_PAGE, limit - len(shown))
            rows, cursor = await audit.list_entries(
                session, found.id, filters, cursor=cursor, limit=page
            )
            shown += [present_entry(row) for row in rows]
            if cursor is None:
                break
        return shown

    for entry in run(work):
        print_json(dump(entry))
