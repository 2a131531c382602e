"""Result submission (snake_case in) and the result shape (camelCase out)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, StrictBool, StringConstraints

from taskbridge.kit.case import RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
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


class TaskResultIn(RequestModel):
    result: str
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None
    contact_type: ContactType | None = None
    operator_external_id: Text255 | None = None
    future_scheduled_at: AwareDatetime | None = None
    payload: dict[str, Any] | None = None


class ResultSubmission(RequestModel):
    """``POST /api/integration/activity-results/tasks``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activity_id": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
                    "commerce_external_id": "COM-001",
                    "occurred_at": "2026-04-11T10:30:00.000Z",
                    "status": "EFFECTIVE",
                    "task_result": {
                        "result": "RESCHEDULE",
                        "comment": "Cliente pide volver el lunes",
                        "contact_type": "OUTBOUND",
                        "operator_external_id": "OP-17",
                        "future_scheduled_at": "2026-04-20T09:00:00.000Z",
                    },
                }
            ]
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
    result: str
    label: str
    comment: str | None
    contact_type: str | None
    operator_external_id: str | None
    future_scheduled_at: Timestamp | None
    payload: dict[str, Any] | None


class ResultRead(ResponseModel):
    """A stored result, as the submit response and a task's ``result`` show it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0d2f7c1e-3b7a-4d2b-8f0e-6a1c9b2d4e5f",
                    "activityId": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
                    "providerActivityId": None,
                    "commerceExternalId": "COM-001",
                    "occurredAt": "2026-04-11T10:30:00.000Z",
                    "status": "EFFECTIVE",
                    "externalStatus": None,
                    "source": "ACTIVITY",
                    "taskResult": {
                        "result": "RESCHEDULE",
                        "label": "Reprogramar visita",
                        "comment": "Cliente pide volver el lunes",
                        "contactType": "OUTBOUND",
                        "operatorExternalId": "OP-17",
                        "futureScheduledAt": "2026-04-20T09:00:00.000Z",
                        "payload": None,
                    },
                    "rawPayload": None,
                    "followUpActivityId": "9a7e1c2b-4f3d-4e8a-b1c6-2d5f7a9e0b13",
                    "createdAt": "2026-04-11T10:30:01.123Z",
                }
            ]
        }
    )

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

    superseded_at: Timestamp | None


class ResultPage(ResponseModel):
    data: list[ResultHistoryRead]
    meta: PageMeta
