"""What one attempt does to the rows: the attempt log, the delivery, the task, the config.

Runs in its own transaction after the HTTP call, with the task and the delivery locked (in that
order, as every other writer of both does).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import service as activities
from taskbridge.activities.status import ActivityStatus
from taskbridge.dispatch import metrics, repository, service
from taskbridge.dispatch.backoff import retry_delay
from taskbridge.dispatch.repository import DeliveryRepository
from taskbridge.dispatch.schemas import AttemptOutcome, DeliveryStatus
from taskbridge.dispatch.sender import Attempt
from taskbridge.errors import NotFound
from taskbridge.models import Activity, Delivery, DeliveryAttempt

log = structlog.get_logger(__name__)

DISPATCHER_ACTOR = "dispatcher"


@dataclass(frozen=True, slots=True)
class Claim:
    """What the dispatcher remembers about a delivery it leased."""

    delivery_id: uuid.UUID
    tenant_id: uuid.UUID
    activity_id: uuid.UUID
    config_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Policy:
    worker_id: str
    max_attempts: int
    rand: Callable[[], float] = random.random


async def _provider_id_owner(
    session: AsyncSession, tenant_id: uuid.UUID, provider_activity_id: str
) -> uuid.UUID | None:
    try:
        owner = await activities.lock_for_result(
            session, tenant_id, activity_id=None, provider_activity_id=provider_activity_id
        )
    except NotFound:
        return None
    return owner.id


async def _succeeded(
    session: AsyncSession, activity: Activity, delivery: Delivery, attempt: Attempt
) -> str | None:
    """Delivered, with the provider's id; returns a note when that id could not be stored.

    The task becomes DISPATCHED with the rest of the batch (see :func:`record_attempts`).
    """
    delivery.status = str(DeliveryStatus.DELIVERED)
    delivery.delivered_at = attempt.attempted_at
    delivery.last_error = None
    activity.last_dispatch_error = None
    pid = attempt.provider_activity_id
    if pid is None or pid == activity.provider_activity_id:
        return None
    owner = await _provider_id_owner(session, activity.tenant_id, pid)
    if owner is not None and owner != activity.id:
        return f"provider_activity_id '{pid}' is already used by activity {owner}; not stored"
    activity.provider_activity_id = pid
    return None


async def _gone(session: AsyncSession, delivery: Delivery, attempt: Attempt) -> None:
    """410: the endpoint asked to stop; the config is deactivated, the task stays READY."""
    delivery.status = str(DeliveryStatus.CANCELED)
    delivery.last_error = f"{attempt.error}; dispatch config deactivated"
    if delivery.config_id is None:
        return
    config = await repository.config_by_id(session, delivery.config_id)
    if config is not None and config.is_active:
        await service.deactivate(session, config, "endpoint answered 410 Gone")


async def _failed(
    session: AsyncSession, activity: Activity, delivery: Delivery, attempt: Attempt, policy: Policy
) -> None:
    """Retry later, or give up after the last attempt: the task becomes FAILED."""
    error = attempt.error or str(attempt.outcome)
    delivery.last_error = error
    activity.last_dispatch_error = error
    if delivery.attempts < policy.max_attempts:
        delivery.next_attempt_at = attempt.attempted_at + retry_delay(
            delivery.attempts, policy.rand
        )
        return
    delivery.status = str(DeliveryStatus.FAILED)
    if activity.status == ActivityStatus.READY:
        await activities.transition(
            session,
            activity,
            ActivityStatus.FAILED,
            actor=DISPATCHER_ACTOR,
            reason=f"gave up after {delivery.attempts} attempts: {error}",
        )


def _log_attempt(claim: Claim, attempt: Attempt, note: str | None) -> DeliveryAttempt:
    error = attempt.error if note is None else "; ".join(filter(None, [attempt.error, note]))
    return DeliveryAttempt(
        id=uuid.uuid4(),
        delivery_id=claim.delivery_id,
        attempted_at=attempt.attempted_at,
        endpoint_url=attempt.endpoint_url,
        outcome=str(attempt.outcome),
        status_code=attempt.status_code,
        response_body=attempt.response_body,
        error=error,
        duration_ms=attempt.duration_ms,
    )


async def _apply(
    session: AsyncSession,
    activity: Activity,
    delivery: Delivery,
    attempt: Attempt,
    policy: Policy,
) -> str | None:
    """Move the delivery (and the task) on; returns a note for the attempt log."""
    delivery.attempts += 1
    delivery.claimed_by = None
    delivery.claimed_until = None
    if attempt.succeeded:
        metrics.observe_delivered(delivery.created_at, attempt.attempted_at)
        return await _succeeded(session, activity, delivery, attempt)
    if attempt.outcome == AttemptOutcome.GONE:
        await _gone(session, delivery, attempt)
    else:
        await _failed(session, activity, delivery, attempt, policy)
    return None


async def _lock_activities(
    session: AsyncSession, claims: Sequence[Claim]
) -> dict[uuid.UUID, Activity]:
    """The claims' tasks, locked in (tenant, id) order like every batch writer."""
    by_tenant: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for claim in claims:
        by_tenant[claim.tenant_id].add(claim.activity_id)
    locked: dict[uuid.UUID, Activity] = {}
    for tenant_id in sorted(by_tenant):
        ids = sorted(by_tenant[tenant_id])
        locked |= await activities.lock_many(session, tenant_id, ids)
    return locked


async def record_attempts(
    session: AsyncSession, outcomes: Sequence[tuple[Claim, Attempt]], policy: Policy
) -> None:
    """Log each attempt; move each delivery (and its task) on if this dispatcher still holds it.

    Tasks are locked before deliveries, as every other writer of both does.
    """
    claims = [claim for claim, _ in outcomes]
    delivered: list[Activity] = []
    locked = await _lock_activities(session, claims)
    deliveries = await repository.lock_deliveries(session, [c.delivery_id for c in claims])
    for claim, attempt in outcomes:
        activity, delivery = locked[claim.activity_id], deliveries[claim.delivery_id]
        activity.dispatch_attempts += 1
        metrics.record_attempt(attempt.outcome)
        note = None
        if delivery.claimed_by != policy.worker_id or delivery.status != DeliveryStatus.PENDING:
            log.warning(
                "dispatch_lease_lost", delivery_id=str(delivery.id), worker=policy.worker_id
            )
        else:
            note = await _apply(session, activity, delivery, attempt, policy)
            if attempt.succeeded and activity.status == ActivityStatus.READY:
                delivered.append(activity)
        DeliveryRepository(session, claim.tenant_id).add(_log_attempt(claim, attempt, note))
    await activities.transition_many(
        session, delivered, ActivityStatus.DISPATCHED, actor=DISPATCHER_ACTOR, reason="delivered"
    )
    await session.flush()


async def cancel_unsent(session: AsyncSession, claim: Claim, worker_id: str, reason: str) -> None:
    """Close a claimed delivery without sending it (its config or its task closed meanwhile)."""
    delivery = await repository.lock_delivery(session, claim.delivery_id)
    if delivery is None or delivery.claimed_by != worker_id:
        return
    delivery.status = str(DeliveryStatus.CANCELED)
    delivery.last_error = reason
    delivery.claimed_by = None
    delivery.claimed_until = None
    await session.flush()
