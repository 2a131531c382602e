"""``/api/audit-log``: the tenant's administrator changes and sign-ins, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from taskbridge.audit import service
from taskbridge.audit.presenters import present_entry
from taskbridge.audit.schemas import AuditPage, AuditQuery
from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.kit.pagination import page_meta
from taskbridge.kit.query import QueryModel, documented_query
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/audit-log", tags=["audit log"], route_class=UnitOfWorkRoute)

AUDIT_READER = Permission.MANAGE_API_KEYS
"""The tenant administrator's: whoever may hand out access to the tenant may see who did."""
Auditor = Annotated[Principal, Authorized(AUDIT_READER)]


@router.get(
    "",
    operation_id="listAuditLog",
    response_model=AuditPage,
    openapi_extra=documented_query(AuditQuery),
)
async def list_audit_log(
    session: SessionDep, caller: Auditor, query: Annotated[AuditQuery, QueryModel(AuditQuery)]
) -> Response:
    """Administrator changes and sign-ins of this tenant, newest first; `cursor` is the previous
    page's `meta.nextCursor`. Needs `MANAGE_API_KEYS` (the tenant administrator's)."""
    filters = query.filters()
    rows, next_cursor = await service.list_entries(
        session, caller.tenant_id, filters, cursor=query.cursor, limit=query.per_page
    )
    total = await service.count_entries(session, caller.tenant_id, filters)
    return model_response(
        AuditPage(
            data=[present_entry(row) for row in rows],
            meta=page_meta(None, query.per_page, total, next_cursor),
        )
    )
