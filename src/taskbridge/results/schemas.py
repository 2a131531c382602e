"""Result submission (snake_case in) and the result shape (camelCase out)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, StrictBool, StringConstraints
from pydantic.config import JsonDict

from taskbridge.kit.case import RequestModel, ResponseModel, examples
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import AwareDatetime, Timestamp

Text255 = Annotated[str, StringConstraints(max_length=255)]


class ResultStatus(StrEnum):
    EFFECTIVE = "EFFECTIVE"
    NOT_EFFECTIVE = "NOT_EFFECTIVE"
    PENDING = "PENDING"


FINAL_STATUSES = frozenset({ResultStatus.EFFECTIVE, ResultStatus.NOT_EFFECTIVE})


class ContactType(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


TASK_RESULT_IN_EXAMPLE: JsonDict = {
    "result": "RESCHEDULE",
    "comment": "Cliente pide volver el lunes",
    "contact_type": "OUTBOUND",
    "operator_external_id": "OP-17",
    "future_scheduled_at": "2026-04-20T09:00:00.000Z",
}
TASK_RESULT_OUT_EXAMPLE = {
    "result": "RESCHEDULE",
    "label": "Reprogramar visita",
    "comment": "Cliente pide volver el lunes",
    "contactType": "OUTBOUND",
    "operatorExternalId": "OP-17",
    "futureScheduledAt": "2026-04-20T09:00:00.000Z",
    "payload": None,
}
RESULT_EXAMPLE = {
    "id": "0d2f7c1e-3b7a-4d2b-8f0e-6a1c9b2d4e5f",
    "activityId": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
    "providerActivityId": None,
    "commerceExternalId": "COM-001",
    "occurredAt": "2026-04-11T10:30:00.000Z",
    "status": "EFFECTIVE",
    "externalStatus": None,
    "source": "ACTIVITY",
    "taskResult": TASK_RESULT_OUT_EXAMPLE,
    "rawPayload": None,
    "followUpActivityId": "9a7e1c2b-4f3d-4e8a-b1c6-2d5f7a9e0b13",
    "createdAt": "2026-04-11T10:30:01.123Z",
}
RESULT_HISTORY_EXAMPLE = {**RESULT_EXAMPLE, "supersededAt": None}


class TaskResultIn(RequestModel):
    model_config = examples(TASK_RESULT_IN_EXAMPLE)

    result: str
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None
    contact_type: ContactType | None = None
    operator_external_id: Text255 | None = None
    future_scheduled_at: AwareDatetime | None = None
    payload: dict[str, Any] | None = None


class ResultSubmission(RequestModel):
    """``POST /api/integration/activity-results/tasks``. One of ``activity_id`` or
    ``provider_activity_id`` names the task; without either the answer is 400 naming
    ``activity_id``, and ``activity_id`` wins when both are sent."""

    # The either-or rule is in the description only: as a schema ``anyOf`` of two ``required``
    # branches, client generators (openapi-python-client) make the body a union of the branches
    # and drop every other field.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activity_id": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
                    "commerce_external_id": "COM-001",
                    "occurred_at": "2026-04-11T10:30:00.000Z",
                    "status": "EFFECTIVE",
                    "task_result": TASK_RESULT_IN_EXAMPLE,
                }
            ],
        }
    )

    activity_id: uuid.UUID | None = None
    provider_activity_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = (
        None
    )
    commerce_external_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    occurred_at: AwareDatetime
    status: ResultStatus
    external_status: Text255 | None = None
    hard_override: StrictBool = False
    raw_payload: dict[str, Any] | None = None
    task_result: TaskResultIn


class TaskResultOut(ResponseModel):
    model_config = examples(TASK_RESULT_OUT_EXAMPLE)

    result: str
    label: str
    comment: str | None
    contact_type: str | None
    operator_external_id: str | None
    future_scheduled_at: Timestamp | None
    payload: dict[str, Any] | None


class ResultRead(ResponseModel):
    """A stored result, as the submit response and a task's ``result`` show it."""

    model_config = examples(RESULT_EXAMPLE)

    id: uuid.UUID
    activity_id: uuid.UUID
    provider_activity_id: str | None
    commerce_external_id: str
    occurred_at: Timestamp
    status: str
    external_status: str | None
    source: str
    task_result: TaskResultOut
    raw_payload: dict[str, Any] | None
    follow_up_activity_id: uuid.UUID | None
    created_at: Timestamp


class ResultHistoryRead(ResultRead):
    """Admin shape: adds when a result was replaced."""

    model_config = examples(RESULT_HISTORY_EXAMPLE)

    superseded_at: Timestamp | None


class ResultPage(ResponseModel):
    model_config = examples(page_example(RESULT_HISTORY_EXAMPLE))

    data: list[ResultHistoryRead]
    meta: PageMeta
