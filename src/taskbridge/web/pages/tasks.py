"""Tasks: filterable list, detail with result history and status events, create, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from taskbridge.activities import service as activities
from taskbridge.activities.presenters import present_activity, present_activity_detail
from taskbridge.activities.schemas import CancelRequest, TaskCreate, TaskFilters
from taskbridge.activities.status import ActivityStatus, Channel
from taskbridge.auth.permissions import Permission
from taskbridge.errors import AppError, BadRequest, Conflict, NotFound
from taskbridge.imports.schemas import ImportKind
from taskbridge.kit.pagination import page_meta
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute
from taskbridge.web.context import Can, PanelUser, Viewer
from taskbridge.web.forms import checked, discard, field_errors, page_number, parse_local
from taskbridge.web.pages.imports import import_upload
from taskbridge.web.rendering import redirect, render

router = APIRouter(prefix="/tasks", route_class=UnitOfWorkRoute)
PER_PAGE = 25
Creator = Annotated[PanelUser, Can(Permission.CREATE_ACTIVITY)]
Canceller = Annotated[PanelUser, Can(Permission.CANCEL_ACTIVITY)]


def _filters(params: dict[str, str], time_zone: str) -> TaskFilters:
    status = params.get("status", "")
    channel = params.get("channel", "")
    return TaskFilters(
        internal_status=status if status in ActivityStatus.__members__ else None,
        channel=Channel(channel) if channel in Channel.__members__ else None,
        external_commerce_id=params.get("commerce", "").strip() or None,
        external_operator_id=params.get("operator", "").strip() or None,
        scheduled_from=parse_local(params.get("from", ""), time_zone, "from"),
        scheduled_to=parse_local(params.get("to", ""), time_zone, "to"),
    )


@router.get("")
async def list_tasks(request: Request, session: SessionDep, me: Viewer) -> Response:
    params = dict(request.query_params)
    number = page_number(params.get("page"))
    found = await activities.list_tasks(
        session,
        me.tenant_id,
        _filters(params, me.time_zone),
        page=number,
        per_page=PER_PAGE,
        cursor=None,
    )
    return render(
        request,
        "tasks.html",
        rows=[present_activity(row, me.language) for row in found.rows],
        params=params,
        statuses=list(ActivityStatus),
        channels=list(Channel),
        meta=page_meta(number, PER_PAGE, found.total, None),
    )


def _new_page(request: Request, status_code: int = 200, **values: object) -> Response:
    defaults: dict[str, object] = {"form": {}, "errors": {}}
    return render(
        request, "task_new.html", status_code, channels=list(Channel), **{**defaults, **values}
    )


@router.get("/new")
async def new_task(request: Request, me: Creator) -> Response:
    return _new_page(request, form={"idempotency_key": uuid.uuid4().hex})


@router.post("/new")
async def create_task(
    request: Request,
    session: SessionDep,
    me: Creator,
    reason: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    commerce_external_id: Annotated[str, Form()] = "",
    operator_external_id: Annotated[str, Form()] = "",
    scheduled_at: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "reason": reason,
        "channel": channel,
        "commerce_external_id": commerce_external_id,
        "operator_external_id": operator_external_id,
        "scheduled_at": scheduled_at,
        "idempotency_key": idempotency_key,
    }
    try:
        data = checked(
            TaskCreate,
            reason=reason,
            channel=channel,
            commerce_external_id=commerce_external_id,
            operator_external_id=operator_external_id.strip() or None,
            scheduled_at=parse_local(scheduled_at, me.time_zone, "scheduled_at"),
            idempotency_key=idempotency_key,
        )
        activity = await activities.create_task(
            session, me.tenant_id, data, actor=me.principal.actor
        )
    except (BadRequest, Conflict, NotFound) as exc:
        await discard(session)
        return _new_page(request, exc.status_code, form=form, errors=_task_errors(exc))
    return redirect(f"/tasks/{activity.id}")


def _task_errors(exc: AppError) -> dict[str, str]:
    if isinstance(exc, NotFound):
        field = "operator_external_id" if "perator" in exc.message else "commerce_external_id"
        return {field: exc.message}
    if isinstance(exc, Conflict):
        return {"idempotency_key": exc.message}
    return field_errors(exc)


@router.post("/import")
async def import_tasks(
    request: Request,
    session: SessionDep,
    me: Creator,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    return await import_upload(request, session, me, ImportKind.TASKS, file, "/tasks")


@router.get("/{task_id}")
async def task_detail(
    request: Request, task_id: uuid.UUID, session: SessionDep, me: Viewer
) -> Response:
    return await _detail_page(request, session, me, task_id)


async def _detail_page(
    request: Request,
    session: SessionDep,
    me: PanelUser,
    task_id: uuid.UUID,
    status_code: int = 200,
    **values: object,
) -> Response:
    row = await activities.get_task(session, me.tenant_id, task_id)
    results, events = await activities.history(session, me.tenant_id, task_id)
    detail = present_activity_detail(row, me.language, results, events)
    defaults: dict[str, object] = {"errors": {}, "notice": request.query_params.get("notice")}
    return render(request, "task.html", status_code, task=detail, **{**defaults, **values})


@router.post("/{task_id}/cancel")
async def cancel_task(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    me: Canceller,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = checked(CancelRequest, reason=reason)
        await activities.cancel(
            session, me.tenant_id, task_id, reason=data.reason, actor=me.principal.actor
        )
    except (BadRequest, Conflict) as exc:
        await discard(session)
        errors = field_errors(exc) if isinstance(exc, BadRequest) else {"reason": exc.message}
        return await _detail_page(request, session, me, task_id, exc.status_code, errors=errors)
    return redirect(f"/tasks/{task_id}?notice=canceled")
