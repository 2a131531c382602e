"""Activity rows to the integration and admin wire shapes.

:func:`task_document` is the one rendering of a task: JSON-ready, camelCase, in the field order of
:class:`TaskRead`. The integration routes and the push dispatcher serialise it as it is; the admin
shapes are models validated from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from taskbridge.activities.repository import TaskRow
from taskbridge.activities.schemas import ActivityDetail, ActivityRead, EventRead
from taskbridge.activities.status import STATUS_VIEWS, ActivityStatus
from taskbridge.kit.pagination import meta_document
from taskbridge.kit.time import format_timestamp
from taskbridge.models import ActivityEvent, ActivityResult
from taskbridge.results.presenters import present_result_history, result_document


@lru_cache(maxsize=256)
def _status_fields(status: str, locale: str) -> tuple[str, str, str]:
    """``status``, ``lifecycleStatus`` and its label in ``locale`` (Spanish by default)."""
    view = STATUS_VIEWS[status]
    return view.status.value, view.lifecycle, view.labels.get(locale, view.labels["es"])


def task_document(row: TaskRow, locale: str) -> dict[str, Any]:
    """The task as the integration API (and a push) shows it, ready for a JSON encoder."""
    status, lifecycle, label = _status_fields(row.status, locale)
    is_failed = row.status == ActivityStatus.FAILED
    occurred_at = row.occurred_at
    parent = row.parent_activity_id
    return {
        "id": str(row.id),
        "activityOrigin": row.origin,
        "type": row.type,
        "status": status,
        "channel": row.channel,
        "scheduledAt": format_timestamp(row.scheduled_at),
        "occurredAt": None if occurred_at is None else format_timestamp(occurred_at),
        "createdAt": format_timestamp(row.created_at),
        "updatedAt": format_timestamp(row.updated_at),
        "lifecycleStatus": lifecycle,
        "lifecycleStatusLabel": label,
        "lifecycleStatusDetail": row.last_dispatch_error if is_failed else None,
        "canForceRetryDispatch": is_failed,
        "commerceExternalId": row.commerce_external_id,
        "commerceName": row.commerce_name,
        "operatorExternalId": row.operator_external_id,
        "operatorName": row.operator_name,
        "providerActivityId": row.provider_activity_id,
        "reason": row.reason,
        "parentActivityId": None if parent is None else str(parent),
        "result": None if row.result is None else result_document(row.result),
    }


def task_page_document(
    rows: Sequence[TaskRow],
    *,
    page: int | None,
    per_page: int,
    total: int,
    next_cursor: str | None,
    locale: str,
) -> dict[str, Any]:
    """A page of the integration task list (``page`` is None on a page read by cursor)."""
    return {
        "data": [task_document(row, locale) for row in rows],
        "meta": meta_document(page, per_page, total, next_cursor),
    }


def _admin_document(row: TaskRow, locale: str) -> dict[str, Any]:
    return {
        **task_document(row, locale),
        "internalStatus": row.status,
        "idempotencyKey": row.idempotency_key,
        "dispatchAttempts": row.dispatch_attempts,
    }


def present_activity(row: TaskRow, locale: str) -> ActivityRead:
    return ActivityRead.model_validate(_admin_document(row, locale))


def present_activity_detail(
    row: TaskRow,
    locale: str,
    results: Sequence[ActivityResult],
    events: Sequence[ActivityEvent],
) -> ActivityDetail:
    return ActivityDetail.model_validate(
        {
            **_admin_document(row, locale),
            "results": [present_result_history(r) for r in results],
            "events": [EventRead.model_validate(e) for e in events],
        }
    )
