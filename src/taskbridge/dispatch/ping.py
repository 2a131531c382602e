"""``ping``: one signed test event to a config's endpoint, sent now, not stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch import sender, service
from taskbridge.dispatch.sender import Attempt, Network, event_body
from taskbridge.kit.time import utcnow

PING = "ping"


@dataclass(frozen=True, slots=True)
class PingResult:
    webhook_id: str
    attempt: Attempt


async def ping(
    factory: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    config_id: uuid.UUID,
    settings: Settings,
    network: Network | None = None,
) -> PingResult:
    """Read the config in a short transaction, then send with no transaction open."""
    now = utcnow()
    async with session_scope(factory) as session:
        config = await service.get_config(session, tenant_id, config_id)
        target = service.target_of(config, settings, now)
        data = {"dispatchConfigId": str(config.id), "channel": config.channel}
    webhook_id = f"ping_{uuid.uuid4().hex}"
    allow_private_networks = settings.dispatch_allow_private_networks
    client = sender.build_client(
        network or Network(), allow_private_networks=allow_private_networks, max_connections=1
    )
    async with client:
        attempt = await sender.send(
            client, target, msg_id=webhook_id, body=event_body(PING, data), now=now
        )
    return PingResult(webhook_id=webhook_id, attempt=attempt)
