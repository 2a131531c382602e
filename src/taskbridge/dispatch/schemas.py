"""Dispatch on the wire: config bodies and shapes, deliveries with their attempts."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool, StringConstraints

from taskbridge.activities.status import Channel
from taskbridge.kit.case import Omittable, RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import Timestamp

HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent", "connection", "transfer-encoding"}
)
MAX_OVERLAP_SECONDS = 30 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]


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
    if not HEADER_NAME.match(name):
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
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_check_header_name)
]
HeaderValue = Annotated[
    str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_check_header_value)
]


class DispatchConfigCreate(RequestModel):
    channel: Channel
    provider: Provider
    endpoint_url: Url | None = None
    auth_header_name: HeaderName | None = None
    auth_header_value: HeaderValue | None = None


class DispatchConfigUpdate(RequestModel):
    """Only the fields present change; ``auth_header_name: null`` removes the auth header."""

    is_active: Omittable[StrictBool] = None
    endpoint_url: Url | None = None
    auth_header_name: HeaderName | None = None
    auth_header_value: HeaderValue | None = None


class SecretRotation(RequestModel):
    overlap_seconds: int = Field(default=DEFAULT_OVERLAP_SECONDS, ge=0, le=MAX_OVERLAP_SECONDS)


class DispatchConfigRead(ResponseModel):
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

    signing_secret: str


class DispatchConfigPage(ResponseModel):
    data: list[DispatchConfigRead]
    meta: PageMeta


class AttemptRead(ResponseModel):
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
    data: list[DeliveryRead]
    meta: PageMeta
