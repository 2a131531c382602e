"""ORM rows to the result wire shape."""

from __future__ import annotations

from taskbridge.models import ActivityResult
from taskbridge.results.schemas import ResultHistoryRead, ResultRead, TaskResultOut


def _fields(result: ActivityResult) -> dict[str, object]:
    return {
        "id": result.id,
        "activity_id": result.activity_id,
        "provider_activity_id": result.provider_activity_id,
        "commerce_external_id": result.commerce_external_id,
        "occurred_at": result.occurred_at,
        "status": result.status,
        "external_status": result.external_status,
        "source": result.source,
        "task_result": TaskResultOut(
            result=result.code,
            label=result.label,
            comment=result.comment,
            contact_type=result.contact_type,
            operator_external_id=result.operator_external_id,
            future_scheduled_at=result.future_scheduled_at,
            payload=result.payload,
        ),
        "raw_payload": result.raw_payload,
        "follow_up_activity_id": result.follow_up_activity_id,
        "created_at": result.created_at,
    }


def present_result(result: ActivityResult) -> ResultRead:
    return ResultRead.model_validate(_fields(result))


def present_result_history(result: ActivityResult) -> ResultHistoryRead:
    return ResultHistoryRead.model_validate(
        {**_fields(result), "superseded_at": result.superseded_at}
    )
