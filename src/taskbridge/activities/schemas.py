"""Tasks on the wire: integration list item, admin shapes, create and cancel bodies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints
from pydantic.config import JsonDict

from taskbridge.activities.status import Channel, IntegrationStatus
from taskbridge.kit.case import NOT_BLANK, RequestModel, ResponseModel, examples
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import AwareDatetime, Timestamp
from taskbridge.results.schemas import (
    RESULT_HISTORY_EXAMPLE,
    ResultHistoryRead,
    ResultRead,
    ResultStatus,
)

NonBlank = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NOT_BLANK)
]

TASK_EXAMPLE: JsonDict = {
    "id": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
    "activityOrigin": "ACTIVITY",
    "type": "TASK",
    "status": "PENDING",
    "channel": "SALESMAN",
    "scheduledAt": "2026-04-15T09:00:00.000Z",
    "occurredAt": None,
    "createdAt": "2026-04-10T14:30:00.000Z",
    "updatedAt": "2026-04-10T14:30:00.000Z",
    "lifecycleStatus": "SCHEDULED",
    "lifecycleStatusLabel": "Programada",
    "lifecycleStatusDetail": None,
    "canForceRetryDispatch": False,
    "commerceExternalId": "COM-001",
    "commerceName": "Almacén Don Pedro",
    "operatorExternalId": "OP-17",
    "operatorName": "Ana Rojas",
    "providerActivityId": None,
    "reason": "Visita mensual",
    "parentActivityId": None,
    "result": None,
}
EVENT_EXAMPLE: JsonDict = {
    "id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
    "fromStatus": None,
    "toStatus": "READY",
    "reason": None,
    "actor": "api_key:1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
    "createdAt": "2026-04-10T14:30:00.000Z",
}
ACTIVITY_EXAMPLE: JsonDict = {
    **TASK_EXAMPLE,
    "internalStatus": "READY",
    "idempotencyKey": "crm-visit-2026-04-15-COM-001",
    "dispatchAttempts": 0,
}


class TaskRead(ResponseModel):
    """A task as the integration API shows it."""

    model_config = examples(TASK_EXAMPLE)

    id: uuid.UUID
    activity_origin: str
    type: str
    status: str
    channel: str
    scheduled_at: Timestamp
    occurred_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    lifecycle_status: str
    lifecycle_status_label: str
    lifecycle_status_detail: str | None
    can_force_retry_dispatch: bool
    commerce_external_id: str
    commerce_name: str
    operator_external_id: str | None
    operator_name: str | None
    provider_activity_id: str | None
    reason: str
    parent_activity_id: uuid.UUID | None
    result: ResultRead | None


class TaskPage(ResponseModel):
    model_config = examples(page_example(TASK_EXAMPLE))

    data: list[TaskRead]
    meta: PageMeta


class EventRead(ResponseModel):
    model_config = examples(EVENT_EXAMPLE)

    id: uuid.UUID
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    created_at: Timestamp


class ActivityRead(TaskRead):
    """The admin shape: the internal status beside the integration view."""

    model_config = examples(ACTIVITY_EXAMPLE)

    internal_status: str
    idempotency_key: str
    dispatch_attempts: int


class ActivityDetail(ActivityRead):
    model_config = examples(
        {**ACTIVITY_EXAMPLE, "results": [RESULT_HISTORY_EXAMPLE], "events": [EVENT_EXAMPLE]}
    )

    results: list[ResultHistoryRead]
    events: list[EventRead]


class ActivityPage(ResponseModel):
    model_config = examples(page_example(ACTIVITY_EXAMPLE))

    data: list[ActivityRead]
    meta: PageMeta


class TaskCreate(RequestModel):
    model_config = examples(
        {
            "reason": "Visita mensual",
            "channel": "SALESMAN",
            "commerce_external_id": "COM-001",
            "operator_external_id": "OP-17",
            "scheduled_at": "2026-04-15T09:00:00.000Z",
            "idempotency_key": "crm-visit-2026-04-15-COM-001",
        }
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
    channel: Channel
    commerce_external_id: NonBlank
    operator_external_id: NonBlank | None = None
    scheduled_at: AwareDatetime
    idempotency_key: NonBlank
    provider_activity_id: NonBlank | None = None


class CancelRequest(RequestModel):
    model_config = examples({"reason": "El comercio cerró"})

    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=NOT_BLANK),
    ]


@dataclass(frozen=True, slots=True)
class TaskFilters:
    """Filters shared by the integration list and the admin list."""

    status: IntegrationStatus | None = None
    internal_status: str | None = None
    result_status: ResultStatus | None = None
    channel: Channel | None = None
    external_commerce_id: str | None = None
    external_operator_id: str | None = None
    scheduled_from: datetime | None = None
    scheduled_to: datetime | None = None
    updated_since: datetime | None = None
