"""``/api/operators``: bulk sync by (type, external id), search, read, update."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.commerces.schemas import SyncSummary
from taskbridge.kit.body import JsonBody
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.operators import service
from taskbridge.operators.schemas import (
    OperatorPage,
    OperatorRead,
    OperatorSync,
    OperatorType,
    OperatorUpdate,
)

router = APIRouter(prefix="/api/operators", tags=["operators"], route_class=UnitOfWorkRoute)

Syncer = Annotated[Principal, Authorized(Permission.SYNC_OPERATORS)]
Manager = Annotated[Principal, Authorized(Permission.MANAGE_OPERATORS)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: refused("No such operator in this tenant", f"Operator '{SAMPLE_ID}' not found")
}


@router.post("/sync", operation_id="syncOperators", response_model=SyncSummary)
async def sync_operators(
    session: SessionDep, caller: Syncer, body: Annotated[OperatorSync, JsonBody(OperatorSync)]
) -> Response:
    """Create or update operators by (`type`, `external_id`), in bulk; synced ones become active."""
    return model_response(await service.sync(session, caller.tenant_id, body.items))


@router.get("", operation_id="listOperators", response_model=OperatorPage)
async def list_operators(
    session: SessionDep,
    caller: Manager,
    paging: PageQuery,
    q: Annotated[str | None, Query(max_length=255)] = None,
    type: OperatorType | None = None,
) -> Response:
    """Operators by name; `q` searches name and external id, `type` narrows to one kind."""
    found, total = await service.search(
        session,
        caller.tenant_id,
        q,
        None if type is None else str(type),
        paging.page,
        paging.per_page,
    )
    return model_response(
        OperatorPage(data=[OperatorRead.model_validate(o) for o in found], meta=paging.meta(total))
    )


@router.get(
    "/{operator_id}", operation_id="getOperator", response_model=OperatorRead, responses=NOT_FOUND
)
async def get_operator(operator_id: uuid.UUID, session: SessionDep, caller: Manager) -> Response:
    """One operator."""
    operator = await service.get(session, caller.tenant_id, operator_id)
    return model_response(OperatorRead.model_validate(operator))


@router.patch(
    "/{operator_id}",
    operation_id="updateOperator",
    response_model=OperatorRead,
    responses=NOT_FOUND,
)
async def update_operator(
    operator_id: uuid.UUID,
    session: SessionDep,
    caller: Manager,
    body: Annotated[OperatorUpdate, JsonBody(OperatorUpdate)],
) -> Response:
    """Change name, email, phone or whether the operator is active."""
    operator = await service.update(session, caller.tenant_id, operator_id, body)
    return model_response(OperatorRead.model_validate(operator))
