"""Dispatch rows to their wire shapes; secrets never leave except where a schema names them."""

from __future__ import annotations

from collections.abc import Sequence

from taskbridge.dispatch.schemas import (
    AttemptRead,
    DeliveryRead,
    DeliveryStatus,
    DispatchConfigRead,
    DispatchConfigWithSecret,
    TestAttemptRead,
)
from taskbridge.dispatch.sender import Attempt
from taskbridge.dispatch.service import ConfigWithSecret
from taskbridge.models import Delivery, DeliveryAttempt, DispatchConfig


def present_config(config: DispatchConfig) -> DispatchConfigRead:
    return DispatchConfigRead(
        id=config.id,
        channel=config.channel,
        provider=config.provider,
        endpoint_url=config.endpoint_url,
        is_active=config.is_active,
        deactivated_reason=config.deactivated_reason,
        auth_header_name=config.auth_header_name,
        has_auth_header_value=config.auth_header_value_sealed is not None,
        previous_secret_expires_at=config.previous_secret_expires_at,
        created_at=config.created_at,
        updated_at=config.updated_at,
    )


def present_config_with_secret(shown: ConfigWithSecret) -> DispatchConfigWithSecret:
    return DispatchConfigWithSecret(
        **present_config(shown.config).model_dump(), signing_secret=shown.signing_secret
    )


def present_delivery(delivery: Delivery, attempts: Sequence[DeliveryAttempt]) -> DeliveryRead:
    pending = delivery.status == DeliveryStatus.PENDING
    return DeliveryRead(
        id=delivery.id,
        activity_id=delivery.activity_id,
        config_id=delivery.config_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_count=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        delivered_at=delivery.delivered_at,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
        attempts=[AttemptRead.model_validate(a) for a in attempts],
    )


def present_test_attempt(webhook_id: str, attempt: Attempt) -> TestAttemptRead:
    return TestAttemptRead(
        webhook_id=webhook_id,
        attempted_at=attempt.attempted_at,
        endpoint_url=attempt.endpoint_url,
        outcome=str(attempt.outcome),
        success=attempt.succeeded,
        status_code=attempt.status_code,
        response_body=attempt.response_body,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
    )
