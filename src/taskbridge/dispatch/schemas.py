"""Dispatch on the wire: config bodies and shapes, deliveries with their attempts."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt, StringConstraints
from pydantic.config import JsonDict

from taskbridge.activities.status import Channel
from taskbridge.kit.case import (
    NOT_BLANK,
    Documented,
    Omittable,
    RequestModel,
    ResponseModel,
    examples,
)
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import Timestamp

HEADER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
HEADER_NAME = re.compile(HEADER_NAME_PATTERN)
HEADER_VALUE_PATTERN = r"^[^\r\n\u0000]*$"
ENDPOINT_URL_PATTERN = (
    r"^https?://(?:\[[0-9A-Fa-f:.]+\]|[^\s/?#@\[\]:]+)(?::[0-9]{1,5})?(?:[/?#]\S*)?$"
)
"""An absolute http(s) URL naming a host, without credentials (``dispatch.ssrf`` checks it, then
resolves the host: an address that is not public is a 400 too)."""
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent", "connection", "transfer-encoding"}
)
MAX_OVERLAP_SECONDS = 30 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600

Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048, pattern=NOT_BLANK),
    Documented({"format": "uri", "pattern": ENDPOINT_URL_PATTERN}),
]


class Provider(StrEnum):
    WEBHOOK = "WEBHOOK"
    MOCK = "MOCK"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class AttemptOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    HTTP_ERROR = "HTTP_ERROR"
    GONE = "GONE"
    TIMEOUT = "TIMEOUT"
    CONNECTION_ERROR = "CONNECTION_ERROR"
    REFUSED = "REFUSED"


def _check_header_name(name: str) -> str:
    if not HEADER_NAME.fullmatch(name):  # ``match`` would let ``$`` pass a trailing newline
        raise ValueError("must be an HTTP header name (letters, digits and '-', at most 64)")
    lowered = name.lower()
    if lowered in RESERVED_HEADERS or lowered.startswith("webhook-"):
        raise ValueError(f"'{name}' is set by taskbridge and cannot be configured")
    return lowered


def _check_header_value(value: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise ValueError("must not contain line breaks")
    return value


HeaderName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_check_header_name),
    Documented(
        {
            "pattern": HEADER_NAME_PATTERN,
            "description": "An HTTP header name; not one taskbridge sets itself "
            f"({', '.join(sorted(RESERVED_HEADERS))}, webhook-*).",
        }
    ),
]
HeaderValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4096),
    AfterValidator(_check_header_value),
    Documented({"pattern": HEADER_VALUE_PATTERN}),
]

CONFIG_EXAMPLE = {
    "id": "8b9c0d1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e",
    "channel": "CALLCENTER",
    "provider": "WEBHOOK",
    "endpointUrl": "https://callcenter.example.com/taskbridge/tasks",
    "isActive": True,
    "deactivatedReason": None,
    "authHeaderName": "x-partner-token",
    "hasAuthHeaderValue": True,
    "previousSecretExpiresAt": None,
    "createdAt": "2026-04-01T12:00:00.000Z",
    "updatedAt": "2026-04-01T12:00:00.000Z",
}
SECRET_EXAMPLE = "whsec_MfKQ9r2LKVrDwP4lXDGzVHrSgpeCAhbNBFvBmSfqTPU="
ATTEMPT_EXAMPLE = {
    "id": "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
    "attemptedAt": "2026-04-10T14:30:01.250Z",
    "endpointUrl": "https://callcenter.example.com/taskbridge/tasks",
    "outcome": "SUCCESS",
    "statusCode": 200,
    "responseBody": '{"provider_activity_id": "CC-88123"}',
    "error": None,
    "durationMs": 182,
}
DELIVERY_EXAMPLE = {
    "id": "4d5e6f7a-8b9c-4d0e-a1f2-b3c4d5e6f7a8",
    "activityId": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
    "configId": "8b9c0d1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e",
    "eventType": "task.created",
    "status": "DELIVERED",
    "attemptCount": 1,
    "nextAttemptAt": None,
    "deliveredAt": "2026-04-10T14:30:01.432Z",
    "lastError": None,
    "createdAt": "2026-04-10T14:30:00.000Z",
    "updatedAt": "2026-04-10T14:30:01.432Z",
    "attempts": [ATTEMPT_EXAMPLE],
}


def _string(field: str) -> JsonDict:
    """A schema that holds when ``field`` is sent and is not null."""
    return {"required": [field], "properties": {field: {"type": "string"}}}


def _when(condition: JsonDict, then: JsonDict) -> JsonDict:
    return {"if": condition, "then": then}


class DispatchConfigCreate(RequestModel):
    """``endpoint_url`` is required for the ``WEBHOOK`` provider; ``auth_header_name`` and
    ``auth_header_value`` come together or not at all (``null`` counts as not sent)."""

    model_config = ConfigDict(
        json_schema_extra={
            # The cross-field rules, as the server applies them (dispatch.service.create_config).
            "allOf": [
                _when(
                    {"required": ["provider"], "properties": {"provider": {"const": "WEBHOOK"}}},
                    _string("endpoint_url"),
                ),
                _when(_string("auth_header_name"), _string("auth_header_value")),
                _when(_string("auth_header_value"), _string("auth_header_name")),
            ],
            "examples": [
                {
                    "channel": "CALLCENTER",
                    "provider": "WEBHOOK",
                    "endpoint_url": "https://callcenter.example.com/taskbridge/tasks",
                    "auth_header_name": "x-partner-token",
                    "auth_header_value": "s3cr3t-partner-token",
                }
            ],
        }
    )

    channel: Channel
    provider: Provider
    endpoint_url: Url | None = None
    auth_header_name: HeaderName | None = None
    auth_header_value: HeaderValue | None = None


class DispatchConfigUpdate(RequestModel):
    """Only the fields present change; ``auth_header_name: null`` removes the auth header (and
    then ``auth_header_value`` cannot be set). The other pairings are judged with the stored
    config: a header name needs a value, sent now or stored; a ``WEBHOOK`` config keeps its
    ``endpoint_url``."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                _when(
                    {
                        "required": ["auth_header_name"],
                        "properties": {"auth_header_name": {"type": "null"}},
                    },
                    {"properties": {"auth_header_value": {"type": "null"}}},
                )
            ],
            "examples": [
                {"endpoint_url": "https://callcenter.example.com/taskbridge/v2/tasks"},
                {"is_active": False},
            ],
        }
    )

    is_active: Omittable[StrictBool] = None
    endpoint_url: Url | None = None
    auth_header_name: HeaderName | None = None
    auth_header_value: HeaderValue | None = None


class SecretRotation(RequestModel):
    model_config = examples({"overlap_seconds": 3600})

    overlap_seconds: StrictInt = Field(
        default=DEFAULT_OVERLAP_SECONDS, ge=0, le=MAX_OVERLAP_SECONDS
    )


class DispatchConfigRead(ResponseModel):
    model_config = examples(CONFIG_EXAMPLE)

    id: uuid.UUID
    channel: str
    provider: str
    endpoint_url: str | None
    is_active: bool
    deactivated_reason: str | None
    auth_header_name: str | None
    has_auth_header_value: bool
    previous_secret_expires_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class DispatchConfigWithSecret(DispatchConfigRead):
    """Returned once, on create and on rotation: the only time the secret is shown."""

    model_config = examples({**CONFIG_EXAMPLE, "signingSecret": SECRET_EXAMPLE})

    signing_secret: str


class DispatchConfigPage(ResponseModel):
    model_config = examples(page_example(CONFIG_EXAMPLE))

    data: list[DispatchConfigRead]
    meta: PageMeta


class AttemptRead(ResponseModel):
    model_config = examples(ATTEMPT_EXAMPLE)

    id: uuid.UUID
    attempted_at: Timestamp
    endpoint_url: str | None
    outcome: str
    status_code: int | None
    response_body: str | None
    error: str | None
    duration_ms: int


class TestAttemptRead(ResponseModel):
    """The result of a ``ping`` sent to a config's endpoint (not stored)."""

    model_config = examples(
        {
            "webhookId": "ping_2a3b4c5d6e7f4a8b9c0d1e2f3a4b5c6d",
            "attemptedAt": "2026-04-10T14:35:00.120Z",
            "endpointUrl": "https://callcenter.example.com/taskbridge/tasks",
            "outcome": "SUCCESS",
            "success": True,
            "statusCode": 200,
            "responseBody": "",
            "error": None,
            "durationMs": 95,
        }
    )

    webhook_id: str
    attempted_at: Timestamp
    endpoint_url: str | None
    outcome: str
    success: bool
    status_code: int | None
    response_body: str | None
    error: str | None
    duration_ms: int


class DeliveryRead(ResponseModel):
    model_config = examples(DELIVERY_EXAMPLE)

    id: uuid.UUID
    activity_id: uuid.UUID
    config_id: uuid.UUID | None
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None
    last_error: str | None
    created_at: Timestamp
    updated_at: Timestamp
    attempts: list[AttemptRead]


class DeliveryPage(ResponseModel):
    model_config = examples(page_example(DELIVERY_EXAMPLE))

    data: list[DeliveryRead]
    meta: PageMeta
