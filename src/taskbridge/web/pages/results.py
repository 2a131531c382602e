"""Results: filterable list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskbridge.kit.pagination import page_meta
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.result_types import service as result_types
from taskbridge.results import service as results
from taskbridge.results.presenters import present_result_history
from taskbridge.results.schemas import ResultStatus
from taskbridge.web.context import Viewer
from taskbridge.web.forms import page_number, parse_local
from taskbridge.web.rendering import render

router = APIRouter(prefix="/results", route_class=UnitOfWorkRoute)
PER_PAGE = 25


@router.get("")
async def list_results(request: Request, session: SessionDep, me: Viewer) -> Response:
    params = dict(request.query_params)
    number = page_number(params.get("page"))
    status = params.get("status", "")
    rows, total = await results.search(
        session,
        me.tenant_id,
        status=ResultStatus(status) if status in ResultStatus.__members__ else None,
        code=params.get("code") or None,
        created_from=parse_local(params.get("from", ""), me.time_zone, "from"),
        created_to=parse_local(params.get("to", ""), me.time_zone, "to"),
        include_superseded=params.get("superseded") == "on",
        page=number,
        per_page=PER_PAGE,
    )
    return render(
        request,
        "results.html",
        rows=[present_result_history(r) for r in rows],
        params=params,
        statuses=list(ResultStatus),
        result_types=await result_types.list_all(session, me.tenant_id),
        meta=page_meta(number, PER_PAGE, total, None),
    )
