"""Event endpoints: create (secret shown once), change, enable/disable, delete, rotate; the
delivery log, redelivery of one delivery or of everything since a time; auto-disable.

Every change writes one audit entry (never a secret). The relay (``relay.py``) fans the feed out
into deliveries; the dispatcher sends them (``sending.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.audit.actors import SYSTEM, Actor
from taskbridge.config import Settings
from taskbridge.dispatch.schemas import DeliveryStatus
from taskbridge.dispatch.sender import Target
from taskbridge.dispatch.service import check_url, endpoint_for_audit
from taskbridge.dispatch.signing_keys import Sealer
from taskbridge.errors import Conflict, NotFound
from taskbridge.event_endpoints.repository import (
    DeliveryRow,
    EndpointRepository,
    EventDeliveryRepository,
    feed_head,
)
from taskbridge.event_endpoints.schemas import (
    MAX_ENDPOINTS_PER_TENANT,
    EventEndpointCreate,
    EventEndpointUpdate,
)
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import EventDeliveryAttempt, EventEndpoint

TARGET = "event_endpoint"
AUTO_DISABLE_AFTER = timedelta(days=5)
"""An endpoint whose attempts have all failed for this long is disabled."""
BY_ADMINISTRATOR = "disabled by an administrator"
GONE = "endpoint answered 410 Gone"
RELAY_ACTOR = Actor(SYSTEM, None, "dispatcher", None)


@dataclass(frozen=True, slots=True)
class EndpointWithSecret:
    endpoint: EventEndpoint
    signing_secret: str


@dataclass(frozen=True, slots=True)
class DeliveryLog:
    rows: list[DeliveryRow]
    attempts: dict[uuid.UUID, list[EventDeliveryAttempt]]
    total: int


def _sealer(settings: Settings) -> Sealer:
    return Sealer("event_endpoint", settings)


def _types(chosen: Sequence[str]) -> list[str]:
    return [str(t) for t in dict.fromkeys(chosen)]


def audited(endpoint: EventEndpoint) -> dict[str, Any]:
    """What an audit entry shows of an endpoint: never a secret, the URL without its query."""
    return {
        "url": endpoint_for_audit(endpoint.url),
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
    }


def _audit(
    session: AsyncSession,
    action: str,
    endpoint: EventEndpoint,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: Actor | None = None,
) -> None:
    audit.record(
        session,
        endpoint.tenant_id,
        action,
        TARGET,
        endpoint.id,
        before=before,
        after=after,
        actor=actor,
    )


async def _start_at_head(session: AsyncSession, endpoint: EventEndpoint) -> None:
    endpoint.cursor_txid, endpoint.cursor_id = await feed_head(session, endpoint.tenant_id)


async def create_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, data: EventEndpointCreate, settings: Settings
) -> EndpointWithSecret:
    """A new endpoint; it receives events committed from now on (not history)."""
    await check_url(data.url, settings, field="url")
    repo = EndpointRepository(session, tenant_id)
    if await repo.count() >= MAX_ENDPOINTS_PER_TENANT:
        raise Conflict(
            f"A tenant has at most {MAX_ENDPOINTS_PER_TENANT} event endpoints; delete one first"
        )
    now = utcnow()
    endpoint = EventEndpoint(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        url=data.url,
        description=data.description or None,
        event_types=_types(data.event_types),
        enabled=data.enabled,
        disabled_reason=None if data.enabled else BY_ADMINISTRATOR,
        disabled_at=None if data.enabled else now,
    )
    secret = _sealer(settings).new_secret(endpoint)
    await _start_at_head(session, endpoint)
    repo.add(endpoint)
    await session.flush()
    _audit(session, "event_endpoint.created", endpoint, None, audited(endpoint))
    return EndpointWithSecret(endpoint, secret)


async def list_endpoints(
    session: AsyncSession, tenant_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[Sequence[EventEndpoint], int]:
    return await EndpointRepository(session, tenant_id).list(offset=offset, limit=limit)


async def get_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> EventEndpoint:
    endpoint = await EndpointRepository(session, tenant_id).get(endpoint_id, for_update=for_update)
    if endpoint is None:
        raise NotFound(f"Event endpoint '{endpoint_id}' not found")
    return endpoint


async def disable(
    session: AsyncSession, endpoint: EventEndpoint, reason: str, now: datetime
) -> int:
    """Stop sending: the pending deliveries are canceled. How many were."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    canceled = await EventDeliveryRepository(session, endpoint.tenant_id).cancel_pending(
        endpoint.id, f"event endpoint disabled: {reason}"
    )
    await session.flush()
    return canceled


async def update_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    data: EventEndpointUpdate,
    settings: Settings,
) -> EventEndpoint:
    """Change what the body names. Enabling a disabled endpoint starts it at the feed's head."""
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    before = audited(endpoint)
    fields = data.model_fields_set
    if data.url is not None:
        await check_url(data.url, settings, field="url")
        endpoint.url = data.url
    if data.event_types is not None:
        endpoint.event_types = _types(data.event_types)
    if "description" in fields:
        endpoint.description = data.description or None
    action = "event_endpoint.updated"
    if data.enabled is True and not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_reason = None
        endpoint.disabled_at = None
        endpoint.failing_since = None
        await _start_at_head(session, endpoint)
        action = "event_endpoint.enabled"
    elif data.enabled is False and endpoint.enabled:
        await disable(session, endpoint, BY_ADMINISTRATOR, utcnow())
        action = "event_endpoint.disabled"
    await session.flush()
    _audit(session, action, endpoint, before, audited(endpoint))
    return endpoint


async def delete_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """Delete the endpoint with its delivery log."""
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    _audit(session, "event_endpoint.deleted", endpoint, audited(endpoint), None)
    await EndpointRepository(session, tenant_id).delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    overlap_seconds: int,
    settings: Settings,
    now: datetime | None = None,
) -> EndpointWithSecret:
    """A new secret; the old one keeps signing beside it for ``overlap_seconds``."""
    now = now or utcnow()
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    secret = _sealer(settings).rotate(endpoint, overlap_seconds=overlap_seconds, now=now)
    await session.flush()
    rotation = {"overlap_seconds": overlap_seconds, "old_one_valid_until": now}
    _audit(session, "event_endpoint.secret_rotated", endpoint, None, rotation)
    return EndpointWithSecret(endpoint, secret)


def target_of(endpoint: EventEndpoint, settings: Settings, now: datetime) -> Target:
    """The current secret, and the previous one while its overlap lasts."""
    return Target(
        provider="WEBHOOK",
        endpoint_url=endpoint.url,
        signing_secrets=_sealer(settings).signing_secrets(endpoint, now),
        auth_header=None,
    )


async def list_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    status: DeliveryStatus | None,
    offset: int,
    limit: int,
) -> DeliveryLog:
    """The endpoint's deliveries, newest first, each with its attempts."""
    await get_endpoint(session, tenant_id, endpoint_id)
    repo = EventDeliveryRepository(session, tenant_id)
    rows, total = await repo.search(
        endpoint_id, status=None if status is None else str(status), offset=offset, limit=limit
    )
    attempts = await repo.attempts_of([r.delivery.id for r in rows])
    return DeliveryLog(rows, attempts, total)


async def get_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[DeliveryRow, list[EventDeliveryAttempt]]:
    repo = EventDeliveryRepository(session, tenant_id)
    row = await repo.get(endpoint_id, delivery_id)
    if row is None:
        raise NotFound(f"Event delivery '{delivery_id}' not found")
    return row, (await repo.attempts_of([delivery_id]))[delivery_id]


def _must_be_enabled(endpoint: EventEndpoint) -> None:
    if not endpoint.enabled:
        raise Conflict(
            f"Event endpoint '{endpoint.id}' is disabled ({endpoint.disabled_reason}); "
            "enable it first"
        )


async def redeliver(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[DeliveryRow, list[EventDeliveryAttempt]]:
    """Send one delivery again now, with the same ``webhook-id``."""
    now = utcnow()
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    repo = EventDeliveryRepository(session, tenant_id)
    row = await repo.get(endpoint_id, delivery_id, for_update=True)
    if row is None:
        raise NotFound(f"Event delivery '{delivery_id}' not found")
    _must_be_enabled(endpoint)
    delivery = row.delivery
    if row.event_txid is None:
        raise Conflict(f"The event of delivery '{delivery.id}' is past retention; not sent again")
    if delivery.claimed_until is not None and delivery.claimed_until > now:
        raise Conflict(f"Event delivery '{delivery.id}' is being sent right now")
    delivery.next_attempt_at = now
    if delivery.status != DeliveryStatus.PENDING:
        delivery.status = str(DeliveryStatus.PENDING)
        delivery.attempts = 0
        delivery.delivered_at = None
    await session.flush()
    after = {"delivery_id": delivery.id, "event_type": delivery.event_type}
    _audit(session, "event_endpoint.redelivered", endpoint, None, after)
    return row, (await repo.attempts_of([delivery.id]))[delivery.id]


async def redeliver_since(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, since: datetime
) -> int:
    """Queue every kept event since ``since`` of the endpoint's types again; how many."""
    endpoint = await get_endpoint(session, tenant_id, endpoint_id, for_update=True)
    _must_be_enabled(endpoint)
    queued = await EventDeliveryRepository(session, tenant_id).requeue_since(
        endpoint, since, utcnow()
    )
    after = {"since": since, "queued": queued}
    _audit(session, "event_endpoint.redelivered", endpoint, None, after)
    return queued


async def auto_disable(
    session: AsyncSession,
    endpoint: EventEndpoint,
    last_error: str,
    now: datetime,
    *,
    gone: bool = False,
) -> None:
    """The endpoint has failed for :data:`AUTO_DISABLE_AFTER` (or answered 410 Gone): disabled,
    its pending deliveries canceled, audited with the dispatcher as the actor."""
    before = audited(endpoint)
    since = endpoint.failing_since or now
    reason = (
        GONE
        if gone
        else f"every attempt failed since {format_timestamp(since)} "
        f"(over {AUTO_DISABLE_AFTER.days} days); last error: {last_error}"
    )
    await disable(session, endpoint, reason[:1000], now)
    _audit(
        session, "event_endpoint.auto_disabled", endpoint, before, audited(endpoint), RELAY_ACTOR
    )


def is_due_for_auto_disable(endpoint: EventEndpoint, now: datetime) -> bool:
    return endpoint.failing_since is not None and now - endpoint.failing_since >= AUTO_DISABLE_AFTER
