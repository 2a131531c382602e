"""The operator screen: pick a task, pick a label, give a date when it needs one, submit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from taskbridge.activities import service as activities
from taskbridge.activities.presenters import present_activity
from taskbridge.activities.schemas import TaskFilters
from taskbridge.activities.status import ActivityStatus
from taskbridge.auth.permissions import Permission
from taskbridge.errors import BadRequest, Conflict, NotFound
from taskbridge.kit.time import utcnow
from taskbridge.kit.uow import SessionDep, UnitOfWorkRoute, received_at
from taskbridge.result_types import service as result_types
from taskbridge.results import service as results
from taskbridge.results.schemas import ResultStatus, ResultSubmission
from taskbridge.web.context import Can, PanelUser
from taskbridge.web.forms import checked, discard, field_errors, parse_local
from taskbridge.web.rendering import render

router = APIRouter(prefix="/operate", route_class=UnitOfWorkRoute)
Operator = Annotated[PanelUser, Can(Permission.SUBMIT_ACTIVITY_RESULT)]
OPEN = (ActivityStatus.READY, ActivityStatus.DISPATCHED, ActivityStatus.UNRESOLVED)
FIELDS = {
    "task_result.result": "result_type",
    "task_result.future_scheduled_at": "future_at",
    "task_result.comment": "comment",
}


@router.get("")
async def pick_task(request: Request, session: SessionDep, me: Operator) -> Response:
    rows = []
    for status in OPEN:
        found = await activities.list_tasks(
            session,
            me.tenant_id,
            TaskFilters(internal_status=status),
            page=1,
            per_page=50,
            cursor=None,
        )
        rows += [present_activity(row, me.language) for row in found.rows]
    rows.sort(key=lambda task: task.scheduled_at)
    return render(request, "operate.html", rows=rows)


async def _task_page(
    request: Request,
    session: SessionDep,
    me: PanelUser,
    task_id: uuid.UUID,
    status_code: int = 200,
    **values: object,
) -> Response:
    task = present_activity(await activities.get_task(session, me.tenant_id, task_id), me.language)
    choices = [
        (rt, result_types.localized_label(rt, [me.language]))
        for rt in await result_types.list_active(session, me.tenant_id)
    ]
    defaults: dict[str, object] = {"errors": {}, "form": {"status": "EFFECTIVE"}}
    return render(
        request,
        "operate_task.html",
        status_code,
        task=task,
        choices=choices,
        statuses=list(ResultStatus),
        **{**defaults, **values},
    )


@router.get("/{task_id}")
async def task_screen(
    request: Request, task_id: uuid.UUID, session: SessionDep, me: Operator
) -> Response:
    return await _task_page(request, session, me, task_id)


@router.post("/{task_id}")
async def submit(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    me: Operator,
    result_type: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "EFFECTIVE",
    future_at: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Through ``submit_result``, exactly as the integration API submits."""
    task = await activities.get_task(session, me.tenant_id, task_id)
    try:
        chosen = await _chosen_type(session, me, result_type)
        data = checked(
            ResultSubmission,
            activity_id=task_id,
            commerce_external_id=task.commerce_external_id,
            occurred_at=utcnow(),
            status=status,
            task_result={
                "result": chosen,
                "comment": comment.strip() or None,
                "future_scheduled_at": parse_local(future_at, me.time_zone, "future_at"),
            },
        )
        submitter = results.Submitter(
            tenant_id=me.tenant_id, actor=me.principal.actor, source="PANEL"
        )
        result = await results.submit_result(
            session, submitter, data, received_at=received_at(request)
        )
    except (BadRequest, Conflict) as exc:
        await discard(session)
        form = {
            "result_type": result_type,
            "status": status,
            "future_at": future_at,
            "comment": comment,
        }
        errors = _in_labels(field_errors(exc, FIELDS), await _labels_by_code(session, me))
        return await _task_page(
            request, session, me, task_id, exc.status_code, errors=errors, form=form
        )
    follow_up = None
    if result.follow_up_activity_id is not None:
        follow_up = present_activity(
            await activities.get_task(session, me.tenant_id, result.follow_up_activity_id),
            me.language,
        )
    label = result_types.localized_label(
        await result_types.get(session, me.tenant_id, uuid.UUID(result_type)), [me.language]
    )
    return render(request, "operate_done.html", label=label, follow_up=follow_up, task_id=task_id)


async def _labels_by_code(session: SessionDep, me: PanelUser) -> dict[str, str]:
    return {
        rt.code: result_types.localized_label(rt, [me.language])
        for rt in await result_types.list_all(session, me.tenant_id)
    }


def _in_labels(errors: dict[str, str], labels: dict[str, str]) -> dict[str, str]:
    """The service's messages as an operator reads them: no field paths, labels for codes."""
    shown = {}
    for field, message in errors.items():
        text = message.split(": ", 1)[1] if message.startswith("task_result.") else message
        for code, label in labels.items():
            text = text.replace(f"'{code}'", f"'{label}'")
        shown[field] = text
    return shown


async def _chosen_type(session: SessionDep, me: PanelUser, value: str) -> str:
    """The code behind the chosen label (the screen shows labels only)."""
    try:
        found = await result_types.get(session, me.tenant_id, uuid.UUID(value))
    except (ValueError, NotFound):
        raise BadRequest("choose a result", field="task_result.result") from None
    return found.code
