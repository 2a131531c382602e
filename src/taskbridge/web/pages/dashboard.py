"""The dashboard: tasks by status, today's results by result type, recent failures."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskbridge.activities import service as activities
from taskbridge.activities.presenters import present_activity
from taskbridge.activities.schemas import TaskFilters
from taskbridge.activities.status import ActivityStatus
from taskbridge.kit.time import utcnow
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.result_types import service as result_types
from taskbridge.results import service as results
from taskbridge.web.context import Viewer
from taskbridge.web.rendering import render

router = APIRouter(route_class=UnitOfWorkRoute)


def _start_of_today(time_zone: str) -> datetime:
    now = utcnow().astimezone(ZoneInfo(time_zone))
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@router.get("/")
async def dashboard(request: Request, session: SessionDep, me: Viewer) -> Response:
    tenant_id = me.tenant_id
    by_status = []
    for status in ActivityStatus:
        page = await activities.list_tasks(
            session,
            tenant_id,
            TaskFilters(internal_status=status),
            page=1,
            per_page=1,
            cursor=None,
        )
        by_status.append((status, page.total))
    today = _start_of_today(me.time_zone)
    by_type = []
    for result_type in await result_types.list_all(session, tenant_id):
        _, total = await results.search(
            session,
            tenant_id,
            status=None,
            code=result_type.code,
            created_from=today,
            created_to=None,
            include_superseded=False,
            page=1,
            per_page=1,
        )
        by_type.append((result_type, total))
    failed = await activities.list_tasks(
        session,
        tenant_id,
        TaskFilters(internal_status=ActivityStatus.FAILED),
        page=1,
        per_page=5,
        cursor=None,
    )
    failures = [present_activity(row, me.language) for row in failed.rows]
    return render(
        request, "dashboard.html", by_status=by_status, by_type=by_type, failures=failures
    )
