"""``/api/activity-results``: the administrator's search over stored results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.query import QueryFlag
from taskbridge.kit.responses import model_response
from taskbridge.kit.time import AwareDatetime
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.result_types.schemas import Code
from taskbridge.results import service
from taskbridge.results.presenters import present_result_history
from taskbridge.results.schemas import ResultPage, ResultStatus

router = APIRouter(prefix="/api/activity-results", tags=["results"], route_class=UnitOfWorkRoute)

Viewer = Annotated[Principal, Authorized(Permission.VIEW_ACTIVITIES)]


@router.get("", operation_id="listResults", response_model=ResultPage)
async def list_results(
    session: SessionDep,
    caller: Viewer,
    paging: PageQuery,
    status: ResultStatus | None = None,
    code: Annotated[Code | None, Query()] = None,
    created_from: Annotated[AwareDatetime | None, Query()] = None,
    created_to: Annotated[AwareDatetime | None, Query()] = None,
    include_superseded: Annotated[QueryFlag, Query()] = False,
) -> Response:
    """Results newest first; current ones only unless `include_superseded=true`."""
    found, total = await service.search(
        session,
        caller.tenant_id,
        status=status,
        code=code,
        created_from=created_from,
        created_to=created_to,
        include_superseded=include_superseded,
        page=paging.page,
        per_page=paging.per_page,
    )
    return model_response(
        ResultPage(data=[present_result_history(r) for r in found], meta=paging.meta(total))
    )
