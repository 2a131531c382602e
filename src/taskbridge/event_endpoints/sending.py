"""What the dispatcher does with event deliveries: claim and render them, record each attempt.

Claimed beside the task deliveries (same lease, worker id, concurrency, client pool and SSRF
guard); the body is ``{"type", "timestamp", "data"}`` with ``data`` the feed's document of the
event, signed with the endpoint's secret(s). An outcome is recorded in its own transaction, the
endpoint (when it may change) locked before the delivery:

- 2xx: DELIVERED; the endpoint's failure streak ends (``failing_since`` cleared);
- 410 Gone: the endpoint is disabled, its pending deliveries canceled;
- anything else: the streak starts (or goes on); once it is :data:`service.AUTO_DISABLE_AFTER`
  old the endpoint is disabled (audited, actor ``system``) and its pending deliveries canceled;
  otherwise the next try after ``backoff.retry_delay``, or FAILED after :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.config import Settings
from taskbridge.dispatch.backoff import retry_delay
from taskbridge.dispatch.schemas import AttemptOutcome, DeliveryStatus
from taskbridge.dispatch.sealing import SealBroken
from taskbridge.dispatch.sender import Attempt, Target, event_body
from taskbridge.event_endpoints import repository, service
from taskbridge.event_endpoints.repository import ClaimedEventDelivery, EventDeliveryRepository
from taskbridge.events.service import event_document
from taskbridge.models import EventDelivery, EventDeliveryAttempt, EventEndpoint

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 30
"""With ``backoff.retry_delay`` (5 s, 20 s, 80 s, 320 s, 1280 s, then 1 h each) the 30th attempt
comes about 24.5 h after the first: a receiver down for a day still gets every event."""
SEAL_BROKEN = (
    "the endpoint's secrets do not open with this server's key "
    "(was TASKBRIDGE_SECRET_KEY changed?); not sent"
)


@dataclass(frozen=True, slots=True)
class EventClaim:
    delivery_id: uuid.UUID
    tenant_id: uuid.UUID
    endpoint_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class EventJob:
    """A claimed event delivery, ready to send (``skip``: close unsent; ``refused``: a failed
    attempt recorded without sending)."""

    claim: EventClaim
    target: Target | None
    body: str
    skip: str | None = None
    refused: str | None = None


def _prepare(claimed: ClaimedEventDelivery, settings: Settings, now: datetime) -> EventJob:
    delivery, endpoint = claimed.delivery, claimed.endpoint
    claim = EventClaim(delivery.id, delivery.tenant_id, delivery.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return EventJob(claim, None, "", skip="event endpoint is disabled or deleted")
    if claimed.event is None:
        return EventJob(claim, None, "", skip="the event is past retention; not sent")
    try:
        target = service.target_of(endpoint, settings, now)
    except SealBroken:
        return EventJob(claim, None, "", refused=SEAL_BROKEN)
    body = event_body(delivery.event_type, event_document(claimed.event))
    return EventJob(claim, target, body)


async def claim(
    session: AsyncSession,
    settings: Settings,
    *,
    worker_id: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
) -> list[EventJob]:
    """Lease up to ``limit`` due event deliveries and render their bodies (in the caller's
    claim transaction)."""
    if limit <= 0:
        return []
    ids = await repository.claim_due(
        session, worker_id=worker_id, now=now, lease_until=lease_until, limit=limit
    )
    if not ids:
        return []
    return [_prepare(c, settings, now) for c in await repository.load_claimed(session, ids)]


def _attempt_row(claim: EventClaim, attempt: Attempt) -> EventDeliveryAttempt:
    return EventDeliveryAttempt(
        id=uuid.uuid4(),
        delivery_id=claim.delivery_id,
        attempted_at=attempt.attempted_at,
        endpoint_url=attempt.endpoint_url,
        outcome=str(attempt.outcome),
        status_code=attempt.status_code,
        response_body=attempt.response_body,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
    )


def _delivered(delivery: EventDelivery, attempt: Attempt) -> None:
    delivery.attempts += 1
    delivery.claimed_by = None
    delivery.claimed_until = None
    delivery.status = str(DeliveryStatus.DELIVERED)
    delivery.delivered_at = attempt.attempted_at
    delivery.last_error = None


async def _failed(
    session: AsyncSession,
    endpoint: EventEndpoint | None,
    delivery: EventDelivery,
    attempt: Attempt,
    rand: Callable[[], float],
) -> None:
    delivery.attempts += 1
    delivery.claimed_by = None
    delivery.claimed_until = None
    at = attempt.attempted_at
    error = attempt.error or str(attempt.outcome)
    delivery.last_error = error
    if endpoint is not None and endpoint.enabled:
        if attempt.outcome == AttemptOutcome.GONE:
            delivery.status = str(DeliveryStatus.CANCELED)
            await service.auto_disable(session, endpoint, error, at, gone=True)
            return
        if endpoint.failing_since is None:
            endpoint.failing_since = at
        if service.is_due_for_auto_disable(endpoint, at):
            delivery.status = str(DeliveryStatus.CANCELED)
            await service.auto_disable(session, endpoint, error, at)
            return
    if delivery.attempts < MAX_ATTEMPTS:
        delivery.next_attempt_at = at + retry_delay(delivery.attempts, rand)
    else:
        delivery.status = str(DeliveryStatus.FAILED)


async def record(
    session: AsyncSession,
    claim: EventClaim,
    attempt: Attempt,
    *,
    worker_id: str,
    rand: Callable[[], float] = random.random,
) -> None:
    """Log the attempt; move the delivery (and its endpoint) on if this worker still holds it.

    A success locks only the delivery (the endpoint's streak is cleared by a conditional
    update that touches nothing when there is none): concurrent successes to one endpoint do not
    queue on its row. A failure may change the endpoint, so it locks the endpoint first, then
    the delivery, in the order the relay and the admin changes take them.
    """
    endpoint = None
    if not attempt.succeeded:
        endpoint = await repository.lock_endpoint(session, claim.endpoint_id)
    delivery = await repository.lock_delivery(session, claim.delivery_id)
    if delivery is None:
        return  # its endpoint was deleted meanwhile, and the log with it
    if delivery.claimed_by != worker_id or delivery.status != DeliveryStatus.PENDING:
        log.warning("event_delivery_lease_lost", delivery_id=str(delivery.id), worker=worker_id)
    elif attempt.succeeded:
        _delivered(delivery, attempt)
        await repository.end_failure_streak(session, claim.endpoint_id)
    else:
        await _failed(session, endpoint, delivery, attempt, rand)
    EventDeliveryRepository(session, claim.tenant_id).add(_attempt_row(claim, attempt))
    await session.flush()


async def cancel_unsent(
    session: AsyncSession, claim: EventClaim, worker_id: str, reason: str
) -> None:
    delivery = await repository.lock_delivery(session, claim.delivery_id)
    if delivery is None or delivery.claimed_by != worker_id:
        return
    delivery.status = str(DeliveryStatus.CANCELED)
    delivery.last_error = reason
    delivery.claimed_by = None
    delivery.claimed_until = None
    await session.flush()
