"""``/api/task-result-type-configs``: the administrator's view of the result types."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Response

from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.kit.body import JsonBody
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import MAX_PER_PAGE, PageQuery, PageRequest
from taskbridge.kit.responses import model_response
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.models import ResultType
from taskbridge.result_types import service
from taskbridge.result_types.schemas import (
    ResultTypeCreate,
    ResultTypePage,
    ResultTypeRead,
    ResultTypeReorder,
    ResultTypeUpdate,
)

router = APIRouter(
    prefix="/api/task-result-type-configs", tags=["result types"], route_class=UnitOfWorkRoute
)

Viewer = Annotated[Principal, Authorized(Permission.VIEW_ACTIVITIES)]
Configurator = Annotated[Principal, Authorized(Permission.MANAGE_ACTIVITY_CONFIG)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: refused("No such result type in this tenant", f"Result type '{SAMPLE_ID}' not found")
}


def _page(result_types: Sequence[ResultType], paging: PageRequest) -> Response:
    return model_response(
        ResultTypePage(
            data=[ResultTypeRead.model_validate(rt) for rt in paging.window(result_types)],
            meta=paging.meta(len(result_types)),
        )
    )


def _one(result_type: ResultType, status_code: int = 200) -> Response:
    return model_response(ResultTypeRead.model_validate(result_type), status_code=status_code)


@router.get("", operation_id="listResultTypes", response_model=ResultTypePage)
async def list_result_types(session: SessionDep, caller: Viewer, paging: PageQuery) -> Response:
    """Every result type: active ones in display order, then archived ones."""
    return _page(await service.list_all(session, caller.tenant_id), paging)


@router.post(
    "",
    operation_id="createResultType",
    status_code=201,
    response_model=ResultTypeRead,
    responses={
        409: refused(
            "The code already exists in this tenant",
            "Result type code 'SALE_COMPLETED' already exists in this tenant",
        )
    },
)
async def create_result_type(
    session: SessionDep,
    caller: Configurator,
    body: Annotated[ResultTypeCreate, JsonBody(ResultTypeCreate)],
) -> Response:
    """A new active result type, last in display order. Its code can never change."""
    return _one(await service.create(session, caller.tenant_id, body), status_code=201)


@router.post(
    "/reorder",
    operation_id="reorderResultTypes",
    response_model=ResultTypePage,
    responses={
        400: refused(
            "`codes` does not name every active code exactly once",
            "codes: must list every active code once; missing: NO_CONTACT",
            details=[
                {
                    "field": "codes",
                    "message": "codes: must list every active code once; missing: NO_CONTACT",
                }
            ],
        )
    },
)
async def reorder_result_types(
    session: SessionDep,
    caller: Configurator,
    body: Annotated[ResultTypeReorder, JsonBody(ResultTypeReorder)],
) -> Response:
    """Set the display order: `codes` names every active code exactly once.

    Answers with the first page of the list, in the new order.
    """
    await service.reorder(session, caller.tenant_id, body.codes)
    first_page = PageRequest(page=1, per_page=MAX_PER_PAGE)
    return _page(await service.list_all(session, caller.tenant_id), first_page)


@router.patch(
    "/{result_type_id}",
    operation_id="updateResultType",
    response_model=ResultTypeRead,
    responses=NOT_FOUND,
)
async def update_result_type(
    result_type_id: uuid.UUID,
    session: SessionDep,
    caller: Configurator,
    body: Annotated[ResultTypeUpdate, JsonBody(ResultTypeUpdate)],
) -> Response:
    """Change the label, translations, future-date flag or position; never the code."""
    return _one(await service.update(session, caller.tenant_id, result_type_id, body))


@router.delete(
    "/{result_type_id}",
    operation_id="deleteResultType",
    status_code=204,
    response_class=Response,
    responses={
        **NOT_FOUND,
        409: refused(
            "Results use this code: archive it instead",
            "Result type 'SALE_COMPLETED' is used by results and cannot be deleted; "
            "archive it instead",
        ),
    },
)
async def delete_result_type(
    result_type_id: uuid.UUID, session: SessionDep, caller: Configurator
) -> Response:
    """Delete a result type no result uses; a used one can only be archived."""
    await service.delete(session, caller.tenant_id, result_type_id)
    return Response(status_code=204)


@router.post(
    "/{result_type_id}/archive",
    operation_id="archiveResultType",
    response_model=ResultTypeRead,
    responses=NOT_FOUND,
)
async def archive_result_type(
    result_type_id: uuid.UUID, session: SessionDep, caller: Configurator
) -> Response:
    """Hide from the configs and refuse it on submit; history keeps it."""
    return _one(
        await service.set_active(session, caller.tenant_id, result_type_id, is_active=False)
    )


@router.post(
    "/{result_type_id}/restore",
    operation_id="restoreResultType",
    response_model=ResultTypeRead,
    responses=NOT_FOUND,
)
async def restore_result_type(
    result_type_id: uuid.UUID, session: SessionDep, caller: Configurator
) -> Response:
    """Make an archived result type active again, last in display order."""
    return _one(await service.set_active(session, caller.tenant_id, result_type_id, is_active=True))
