"""Deliveries: the push log filtered by status and task, each delivery's attempts, redelivery,
and force retry of a task, through ``dispatch.deliveries`` as the REST API does."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from taskbridge.auth.permissions import Permission
from taskbridge.dispatch import deliveries
from taskbridge.dispatch.presenters import present_delivery
from taskbridge.dispatch.schemas import DeliveryStatus
from taskbridge.errors import BadRequest, Conflict
from taskbridge.kit.pagination import page_meta
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.web.context import Can, PanelUser, Viewer
from taskbridge.web.forms import discard, page_number
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/deliveries", route_class=UnitOfWorkRoute)
Dispatcher = Annotated[PanelUser, Can(Permission.DISPATCH_ACTIVITY)]
PER_PAGE = 25
FILTERS = ("status", "task")


def _task_filter(value: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest("must be a task id (a UUID)", field="task") from None


async def _list_page(
    request: Request, session: SessionDep, me: PanelUser, status_code: int = 200, **values: object
) -> Response:
    params = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    number = page_number(request.query_params.get("page"))
    status = params["status"]
    log = await deliveries.list_deliveries(
        session,
        me.tenant_id,
        activity_id=_task_filter(params["task"]),
        status=DeliveryStatus(status) if status in DeliveryStatus.__members__ else None,
        offset=(number - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    defaults: dict[str, object] = {"notice": None, "error": None}
    return render(
        request,
        "deliveries.html",
        status_code,
        rows=[present_delivery(d, log.attempts[d.id]) for d in log.deliveries],
        params={k: v for k, v in params.items() if v},
        statuses=list(DeliveryStatus),
        meta=page_meta(number, PER_PAGE, log.total, None),
        **{**defaults, **values},
    )


@router.get("")
async def list_deliveries(request: Request, session: SessionDep, me: Viewer) -> Response:
    """Newest first; every attempt (time, outcome, HTTP status, error) under its delivery."""
    return await _list_page(request, session, me, notice=request.query_params.get("notice"))


@router.post("/{delivery_id}/redeliver")
async def redeliver(
    request: Request, delivery_id: uuid.UUID, session: SessionDep, me: Dispatcher
) -> Response:
    """Send again now with the same ``webhook-id``; a FAILED task becomes READY."""
    try:
        await deliveries.redeliver(session, me.tenant_id, delivery_id, actor=me.principal.actor)
    except Conflict as exc:
        await discard(session)
        return await _list_page(request, session, me, 409, error=exc.message)
    return redirect("/deliveries?notice=redelivered")


@router.post("/tasks/{activity_id}/dispatch")
async def force_retry(
    request: Request, activity_id: uuid.UUID, session: SessionDep, me: Dispatcher
) -> Response:
    """Push a READY or FAILED task now (the pending delivery made due, or a new one)."""
    try:
        await deliveries.force_dispatch(
            session, me.tenant_id, activity_id, actor=me.principal.actor
        )
    except Conflict as exc:
        await discard(session)
        return await _list_page(request, session, me, 409, error=exc.message)
    return redirect(f"/deliveries?task={activity_id}&notice=dispatched")
