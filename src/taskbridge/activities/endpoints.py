"""``/api/activities``: create tasks, list them with internal statuses, read history, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from taskbridge.activities import service
from taskbridge.activities.presenters import present_activity, present_activity_detail
from taskbridge.activities.schemas import (
    ActivityDetail,
    ActivityPage,
    ActivityRead,
    CancelRequest,
    TaskCreate,
    TaskFilters,
)
from taskbridge.activities.status import ActivityStatus, Channel
from taskbridge.auth.dependencies import Authorized
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import Principal
from taskbridge.kit.body import JsonBody
from taskbridge.kit.openapi import SAMPLE_ID, refused
from taskbridge.kit.pagination import PageQuery
from taskbridge.kit.responses import model_response
from taskbridge.kit.time import AwareDatetime
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.results.schemas import ResultStatus

router = APIRouter(prefix="/api/activities", tags=["activities"], route_class=UnitOfWorkRoute)

Viewer = Annotated[Principal, Authorized(Permission.VIEW_ACTIVITIES)]
Creator = Annotated[Principal, Authorized(Permission.CREATE_ACTIVITY)]
Canceller = Annotated[Principal, Authorized(Permission.CANCEL_ACTIVITY)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: refused("No such activity in this tenant", f"Task '{SAMPLE_ID}' not found")
}


async def _present(
    session: SessionDep, caller: Principal, activity_id: uuid.UUID, status_code: int = 200
) -> Response:
    row = await service.get_task(session, caller.tenant_id, activity_id)
    return model_response(present_activity(row, caller.tenant.locale), status_code=status_code)


@router.post(
    "/tasks",
    operation_id="createTask",
    status_code=201,
    response_model=ActivityRead,
    responses={
        404: refused(
            "Commerce or operator not found in this tenant", "Commerce 'COM-404' not found"
        ),
        409: refused(
            "`idempotency_key` (or `provider_activity_id`) already used: `existingActivityId` "
            "names the activity",
            f"An activity with idempotency_key 'visit-42' already exists: {SAMPLE_ID}",
            existingActivityId=SAMPLE_ID,
        ),
    },
)
async def create_task(
    session: SessionDep, caller: Creator, body: Annotated[TaskCreate, JsonBody(TaskCreate)]
) -> Response:
    """A READY task; repeating an `idempotency_key` is a 409 naming the existing activity."""
    activity = await service.create_task(session, caller.tenant_id, body, actor=caller.actor)
    return await _present(session, caller, activity.id, status_code=201)


@router.get("", operation_id="listActivities", response_model=ActivityPage)
async def list_activities(
    session: SessionDep,
    caller: Viewer,
    paging: PageQuery,
    status: ActivityStatus | None = None,
    result_status: ResultStatus | None = None,
    channel: Channel | None = None,
    external_commerce_id: str | None = None,
    external_operator_id: str | None = None,
    scheduled_from: Annotated[AwareDatetime | None, Query()] = None,
    scheduled_to: Annotated[AwareDatetime | None, Query()] = None,
    updated_since: Annotated[AwareDatetime | None, Query()] = None,
) -> Response:
    """Activities newest `scheduledAt` first; `status` filters by the internal status."""
    filters = TaskFilters(
        internal_status=None if status is None else str(status),
        result_status=result_status,
        channel=channel,
        external_commerce_id=external_commerce_id,
        external_operator_id=external_operator_id,
        scheduled_from=scheduled_from,
        scheduled_to=scheduled_to,
        updated_since=updated_since,
    )
    found = await service.list_tasks(
        session, caller.tenant_id, filters, page=paging.page, per_page=paging.per_page, cursor=None
    )
    locale = caller.tenant.locale
    return model_response(
        ActivityPage(
            data=[present_activity(row, locale) for row in found.rows],
            meta=paging.meta(found.total),
        )
    )


@router.get(
    "/{activity_id}",
    operation_id="getActivity",
    response_model=ActivityDetail,
    responses=NOT_FOUND,
)
async def get_activity(activity_id: uuid.UUID, session: SessionDep, caller: Viewer) -> Response:
    """One activity with its result history (newest first) and its status events."""
    row = await service.get_task(session, caller.tenant_id, activity_id)
    results, events = await service.history(session, caller.tenant_id, activity_id)
    return model_response(present_activity_detail(row, caller.tenant.locale, results, events))


@router.post(
    "/{activity_id}/cancel",
    operation_id="cancelActivity",
    response_model=ActivityRead,
    responses={
        404: refused("No such activity in this tenant", f"Activity '{SAMPLE_ID}' not found"),
        409: refused(
            "The activity's status cannot move to CANCELED",
            f"Activity '{SAMPLE_ID}' cannot move from COMPLETED to CANCELED",
        ),
    },
)
async def cancel_activity(
    activity_id: uuid.UUID,
    session: SessionDep,
    caller: Canceller,
    body: Annotated[CancelRequest, JsonBody(CancelRequest)],
) -> Response:
    """Cancel an open activity; a completed or canceled one is a 409 naming both states."""
    await service.cancel(
        session, caller.tenant_id, activity_id, reason=body.reason, actor=caller.actor
    )
    return await _present(session, caller, activity_id)
