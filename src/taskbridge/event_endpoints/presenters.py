"""Event endpoint rows to their wire shapes; the secret only where a schema names it."""

from __future__ import annotations

from collections.abc import Sequence

from taskbridge.dispatch.schemas import AttemptRead, DeliveryStatus
from taskbridge.event_endpoints.repository import DeliveryRow
from taskbridge.event_endpoints.schemas import (
    EventDeliveryRead,
    EventEndpointRead,
    EventEndpointWithSecret,
)
from taskbridge.event_endpoints.service import EndpointWithSecret
from taskbridge.events.service import event_id_of
from taskbridge.models import EventDeliveryAttempt, EventEndpoint


def present_endpoint(endpoint: EventEndpoint) -> EventEndpointRead:
    return EventEndpointRead(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        failing_since=endpoint.failing_since,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def present_endpoint_with_secret(shown: EndpointWithSecret) -> EventEndpointWithSecret:
    return EventEndpointWithSecret(
        **present_endpoint(shown.endpoint).model_dump(), signing_secret=shown.signing_secret
    )


def present_delivery(
    row: DeliveryRow, attempts: Sequence[EventDeliveryAttempt]
) -> EventDeliveryRead:
    delivery = row.delivery
    event_id = None
    if row.event_txid is not None and row.event_created_at is not None:
        event_id = event_id_of(row.event_txid, delivery.event_id, row.event_created_at)
    return EventDeliveryRead(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_count=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at
        if delivery.status == DeliveryStatus.PENDING
        else None,
        delivered_at=delivery.delivered_at,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        attempts=[AttemptRead.model_validate(a) for a in attempts],
    )
