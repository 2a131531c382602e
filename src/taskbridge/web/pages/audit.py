"""Audit log: the tenant's administrator changes and sign-ins, newest first, with filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskbridge.audit import service as audit
from taskbridge.audit.presenters import present_entry
from taskbridge.audit.repository import AuditFilters
from taskbridge.auth.permissions import Permission
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.web.context import Can, PanelUser
from taskbridge.web.forms import parse_local
from taskbridge.web.rendering import render

router = APIRouter(prefix="/audit", route_class=UnitOfWorkRoute)
Auditor = Annotated[PanelUser, Can(Permission.MANAGE_API_KEYS)]
PER_PAGE = 50
FILTERS = ("action", "actor", "from", "to")


@router.get("")
async def audit_log(request: Request, session: SessionDep, me: Auditor) -> Response:
    """Older entries follow the "Next" link (a keyset cursor), as in ``GET /api/audit-log``."""
    params = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    filters = AuditFilters(
        action=params["action"][:64] or None,
        actor=params["actor"][:400] or None,
        since=parse_local(params["from"], me.time_zone, "from"),
        until=parse_local(params["to"], me.time_zone, "to"),
    )
    cursor = request.query_params.get("cursor") or None
    rows, next_cursor = await audit.list_entries(
        session, me.tenant_id, filters, cursor=cursor, limit=PER_PAGE
    )
    return render(
        request,
        "audit.html",
        entries=[present_entry(row) for row in rows],
        params={k: v for k, v in params.items() if v},
        next_cursor=next_cursor,
        is_first_page=cursor is None,
    )
