"""Event endpoints on the wire: bodies (snake_case), answers (camelCase), the delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, StringConstraints

from taskbridge.dispatch.schemas import (
    ATTEMPT_EXAMPLE,
    SECRET_EXAMPLE,
    AttemptRead,
    DeliveryStatus,
    SecretRotation,
    Url,
)
from taskbridge.events.schemas import EventType
from taskbridge.kit.case import Omittable, RequestModel, ResponseModel, examples
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import AwareDatetime, Timestamp

__all__ = ["DeliveryStatus", "SecretRotation"]

MAX_ENDPOINTS_PER_TENANT = 20
MAX_DESCRIPTION = 500

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION)]
EventTypes = Annotated[
    list[EventType],
    Field(
        max_length=len(EventType),
        description="Only these event types; empty (the default) means every type",
    ),
]

ENDPOINT_EXAMPLE = {
    "id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    "url": "https://crm.example.com/hooks/taskbridge",
    "description": "CRM: results as they are recorded",
    "eventTypes": ["result.recorded", "task.completed"],
    "enabled": True,
    "disabledReason": None,
    "disabledAt": None,
    "failingSince": None,
    "previousSecretExpiresAt": None,
    "createdAt": "2026-12-01T12:00:00.000Z",
    "updatedAt": "2026-12-01T12:00:00.000Z",
}
EVENT_DELIVERY_EXAMPLE = {
    "id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b",
    "endpointId": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
    "eventId": "MTIzNDU2Ljc4OS4xNzY0NTkwNDAwMDAw.q1w2e3r4t5y6",
    "eventType": "result.recorded",
    "status": "DELIVERED",
    "attemptCount": 1,
    "nextAttemptAt": None,
    "deliveredAt": "2026-12-01T12:00:01.432Z",
    "lastError": None,
    "createdAt": "2026-12-01T12:00:00.900Z",
    "attempts": [{**ATTEMPT_EXAMPLE, "endpointUrl": "https://crm.example.com/hooks/taskbridge"}],
}


class EventEndpointCreate(RequestModel):
    model_config = examples(
        {
            "url": "https://crm.example.com/hooks/taskbridge",
            "event_types": ["result.recorded", "task.completed"],
            "description": "CRM: results as they are recorded",
        }
    )

    url: Url
    event_types: EventTypes = Field(default_factory=list)
    description: Description | None = None
    enabled: StrictBool = True


class EventEndpointUpdate(RequestModel):
    """Only the fields present change. ``enabled: true`` on a disabled endpoint starts it at the
    feed's head (events meanwhile are recovered with ``POST /{id}/redeliver`` ``{since}``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"event_types": ["task.created"]}, {"enabled": False}],
        }
    )

    url: Omittable[Url] = None
    event_types: Omittable[EventTypes] = None
    description: Description | None = None
    enabled: Omittable[StrictBool] = None


class RedeliverSince(RequestModel):
    model_config = examples({"since": "2026-12-01T08:00:00.000Z"})

    since: AwareDatetime = Field(
        description="Every kept event created at or after this time (matching the endpoint's "
        "types) is sent again"
    )


class EventEndpointRead(ResponseModel):
    model_config = examples(ENDPOINT_EXAMPLE)

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: Timestamp | None
    failing_since: Timestamp | None = Field(
        description="When the current streak of failed attempts started (null after a success)"
    )
    previous_secret_expires_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class EventEndpointWithSecret(EventEndpointRead):
    """Returned on create and on rotation: the only time the secret is shown."""

    model_config = examples({**ENDPOINT_EXAMPLE, "signingSecret": SECRET_EXAMPLE})

    signing_secret: str


class EventEndpointPage(ResponseModel):
    model_config = examples(page_example(ENDPOINT_EXAMPLE))

    data: list[EventEndpointRead]
    meta: PageMeta


class EventDeliveryRead(ResponseModel):
    model_config = examples(EVENT_DELIVERY_EXAMPLE)

    id: uuid.UUID = Field(description="The `webhook-id` header of every attempt")
    endpoint_id: uuid.UUID
    event_id: str | None = Field(
        description="The event's id in the feed (`data.id` of the body); null once the event "
        "is past retention"
    )
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None
    last_error: str | None
    created_at: Timestamp
    attempts: list[AttemptRead]


class EventDeliveryPage(ResponseModel):
    model_config = examples(page_example(EVENT_DELIVERY_EXAMPLE))

    data: list[EventDeliveryRead]
    meta: PageMeta


class RedeliveryCount(ResponseModel):
    model_config = examples({"queued": 42})

    queued: int = Field(description="Deliveries queued to be sent now")
