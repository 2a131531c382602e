"""``/api/commerces``: bulk sync by external id, search, read, update."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.commerces import service
from taskbridge.commerces.schemas import (
    CommercePage,
    CommerceRead,
    CommerceSync,
    CommerceUpdate,
    SyncSummary,
)
from taskbridge.kit.body import JsonBody
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute

router = APIRouter(prefix="/api/commerces", tags=["commerces"], route_class=UnitOfWorkRoute)

Syncer = Annotated[Principal, Authorized(Permission.SYNC_COMMERCES)]
Manager = Annotated[Principal, Authorized(Permission.MANAGE_COMMERCES)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: refused("No such commerce in this tenant", f"Commerce '{SAMPLE_ID}' not found")
}


@router.post("/sync", operation_id="syncCommerces", response_model=SyncSummary)
async def sync_commerces(
    session: SessionDep, caller: Syncer, body: Annotated[CommerceSync, JsonBody(CommerceSync)]
) -> Response:
    """Create or update commerces by `external_id`, in bulk; synced ones become active."""
    return model_response(await service.sync(session, caller.tenant_id, body.items))


@router.get("", operation_id="listCommerces", response_model=CommercePage)
async def list_commerces(
    session: SessionDep,
    caller: Manager,
    paging: PageQuery,
    q: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    """Commerces by name; `q` searches name and external id."""
    found, total = await service.search(session, caller.tenant_id, q, paging.page, paging.per_page)
    return model_response(
        CommercePage(data=[CommerceRead.model_validate(c) for c in found], meta=paging.meta(total))
    )


@router.get(
    "/{commerce_id}", operation_id="getCommerce", response_model=CommerceRead, responses=NOT_FOUND
)
async def get_commerce(commerce_id: uuid.UUID, session: SessionDep, caller: Manager) -> Response:
    """One commerce."""
    commerce = await service.get(session, caller.tenant_id, commerce_id)
    return model_response(CommerceRead.model_validate(commerce))


@router.patch(
    "/{commerce_id}",
    operation_id="updateCommerce",
    response_model=CommerceRead,
    responses=NOT_FOUND,
)
async def update_commerce(
    commerce_id: uuid.UUID,
    session: SessionDep,
    caller: Manager,
    body: Annotated[CommerceUpdate, JsonBody(CommerceUpdate)],
) -> Response:
    """Change name, tax id, metadata or whether the commerce is active."""
    commerce = await service.update(session, caller.tenant_id, commerce_id, body)
    return model_response(CommerceRead.model_validate(commerce))
