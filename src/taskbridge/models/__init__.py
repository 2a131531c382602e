"""Every table, one module each."""

from taskbridge.kit.model import Base
from taskbridge.models.activity import Activity, ActivityEvent
from taskbridge.models.activity_result import ActivityResult
from taskbridge.models.api_key import ApiKey
from taskbridge.models.audit_entry import AuditEntry
from taskbridge.models.commerce import Commerce
from taskbridge.models.delivery import Delivery, DeliveryAttempt
from taskbridge.models.dispatch_config import DispatchConfig
from taskbridge.models.event import Event
from taskbridge.models.event_endpoint import EventDelivery, EventDeliveryAttempt, EventEndpoint
from taskbridge.models.idempotency_record import IdempotencyRecord
from taskbridge.models.operator import Operator
from taskbridge.models.result_type import ResultType
from taskbridge.models.tenant import Tenant
from taskbridge.models.user import Invitation, LoginFailure, Membership, User, UserSession

__all__ = [
    "Activity",
    "ActivityEvent",
    "ActivityResult",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Commerce",
    "Delivery",
    "DeliveryAttempt",
    "DispatchConfig",
    "Event",
    "EventDelivery",
    "EventDeliveryAttempt",
    "EventEndpoint",
    "IdempotencyRecord",
    "Invitation",
    "LoginFailure",
    "Membership",
    "Operator",
    "ResultType",
    "Tenant",
    "User",
    "UserSession",
]
