"""Tasks on the wire: integration list item, admin shapes, create and cancel bodies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, StringConstraints
from pydantic.config import JsonDict

from taskbridge.activities.status import Channel, IntegrationStatus
from taskbridge.kit.case import RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import AwareDatetime, Timestamp
from taskbridge.results.schemas import ResultHistoryRead, ResultRead, ResultStatus

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]

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


class TaskRead(ResponseModel):
    """A task as the integration API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [TASK_EXAMPLE]})

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [TASK_EXAMPLE],
                    "meta": {
                        "page": 1,
                        "limit": 20,
                        "total": 1,
                        "totalPages": 1,
                        "nextCursor": None,
                    },
                }
            ]
        }
    )

    data: list[TaskRead]
    meta: PageMeta


class EventRead(ResponseModel):
    id: uuid.UUID
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    created_at: Timestamp


class ActivityRead(TaskRead):
    """The admin shape: the internal status beside the integration view."""

    internal_status: str
    idempotency_key: str
    dispatch_attempts: int


class ActivityDetail(ActivityRead):
    results: list[ResultHistoryRead]
    events: list[EventRead]


class ActivityPage(ResponseModel):
    data: list[ActivityRead]
    meta: PageMeta


class TaskCreate(RequestModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
    channel: Channel
    commerce_external_id: NonBlank
    operator_external_id: NonBlank | None = None
    scheduled_at: AwareDatetime
    idempotency_key: NonBlank
    provider_activity_id: NonBlank | None = None


class CancelRequest(RequestModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


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
