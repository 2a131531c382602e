"""Activity rows to the integration and admin wire shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from taskbridge.activities.repository import TaskRow
from taskbridge.activities.schemas import ActivityDetail, ActivityRead, EventRead, TaskRead
from taskbridge.activities.status import STATUS_VIEWS, ActivityStatus
from taskbridge.models import ActivityEvent, ActivityResult
from taskbridge.results.presenters import present_result, present_result_history


def _task_fields(row: TaskRow, locale: str) -> dict[str, Any]:
    activity = row.activity
    view = STATUS_VIEWS[activity.status]
    is_failed = activity.status == ActivityStatus.FAILED
    return {
        "id": activity.id,
        "activity_origin": activity.origin,
        "type": activity.type,
        "status": view.status,
        "channel": activity.channel,
        "scheduled_at": activity.scheduled_at,
        "occurred_at": activity.occurred_at,
        "created_at": activity.created_at,
        "updated_at": activity.updated_at,
        "lifecycle_status": view.lifecycle,
        "lifecycle_status_label": view.labels.get(locale, view.labels["es"]),
        "lifecycle_status_detail": activity.last_dispatch_error if is_failed else None,
        "can_force_retry_dispatch": is_failed,
        "commerce_external_id": row.commerce_external_id,
        "commerce_name": row.commerce_name,
        "operator_external_id": row.operator_external_id,
        "operator_name": row.operator_name,
        "provider_activity_id": activity.provider_activity_id,
        "reason": activity.reason,
        "parent_activity_id": activity.parent_activity_id,
        "result": None if row.result is None else present_result(row.result),
    }


def present_task(row: TaskRow, locale: str) -> TaskRead:
    return TaskRead.model_validate(_task_fields(row, locale))


def _admin_fields(row: TaskRow, locale: str) -> dict[str, Any]:
    return {
        **_task_fields(row, locale),
        "internal_status": row.activity.status,
        "idempotency_key": row.activity.idempotency_key,
        "dispatch_attempts": row.activity.dispatch_attempts,
    }


def present_activity(row: TaskRow, locale: str) -> ActivityRead:
    return ActivityRead.model_validate(_admin_fields(row, locale))


def present_activity_detail(
    row: TaskRow,
    locale: str,
    results: Sequence[ActivityResult],
    events: Sequence[ActivityEvent],
) -> ActivityDetail:
    return ActivityDetail.model_validate(
        {
            **_admin_fields(row, locale),
            "results": [present_result_history(r) for r in results],
            "events": [EventRead.model_validate(e) for e in events],
        }
    )
