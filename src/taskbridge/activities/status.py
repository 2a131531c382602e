"""Internal statuses, the transitions between them, and how the integration API shows them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActivityStatus(StrEnum):
    READY = "READY"
    UNRESOLVED = "UNRESOLVED"
    DISPATCHED = "DISPATCHED"
    FAILED = "FAILED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class IntegrationStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class Channel(StrEnum):
    SALESMAN = "SALESMAN"
    CALLCENTER = "CALLCENTER"
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"


class ActivityOrigin(StrEnum):
    ACTIVITY = "ACTIVITY"
    FOLLOW_UP = "FOLLOW_UP"


@dataclass(frozen=True, slots=True)
class StatusView:
    status: IntegrationStatus
    lifecycle: str
    labels: dict[str, str]


STATUS_VIEWS: dict[str, StatusView] = {
    ActivityStatus.READY: StatusView(
        IntegrationStatus.PENDING, "SCHEDULED", {"es": "Programada", "en": "Scheduled"}
    ),
    ActivityStatus.UNRESOLVED: StatusView(
        IntegrationStatus.PENDING, "UNRESOLVED", {"es": "Sin resolver", "en": "Unresolved"}
    ),
    ActivityStatus.DISPATCHED: StatusView(
        IntegrationStatus.IN_PROGRESS, "DISPATCHED", {"es": "Enviada", "en": "Dispatched"}
    ),
    ActivityStatus.FAILED: StatusView(
        IntegrationStatus.PENDING,
        "DISPATCH_FAILED",
        {"es": "Envío fallido", "en": "Dispatch failed"},
    ),
    ActivityStatus.COMPLETED: StatusView(
        IntegrationStatus.COMPLETED, "COMPLETED", {"es": "Completada", "en": "Completed"}
    ),
    ActivityStatus.CANCELED: StatusView(
        IntegrationStatus.CANCELLED, "CANCELED", {"es": "Cancelada", "en": "Canceled"}
    ),
}

INTERNAL_STATUSES: dict[IntegrationStatus, tuple[ActivityStatus, ...]] = {
    view: tuple(ActivityStatus(s) for s, v in STATUS_VIEWS.items() if v.status == view)
    for view in IntegrationStatus
}

TRANSITIONS: dict[ActivityStatus, frozenset[ActivityStatus]] = {
    ActivityStatus.READY: frozenset(
        {
            ActivityStatus.DISPATCHED,
            ActivityStatus.FAILED,
            ActivityStatus.COMPLETED,
            ActivityStatus.CANCELED,
        }
    ),
    ActivityStatus.DISPATCHED: frozenset({ActivityStatus.COMPLETED, ActivityStatus.CANCELED}),
    ActivityStatus.FAILED: frozenset(
        {ActivityStatus.READY, ActivityStatus.COMPLETED, ActivityStatus.CANCELED}
    ),
    ActivityStatus.UNRESOLVED: frozenset({ActivityStatus.COMPLETED, ActivityStatus.CANCELED}),
    ActivityStatus.COMPLETED: frozenset(),
    ActivityStatus.CANCELED: frozenset(),
}
"""The platform's activity status machine; results may complete an activity in any open state."""
