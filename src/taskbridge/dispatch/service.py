"""Dispatch configs: create (secret shown once), update, deactivate, delete, rotate, test target."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.config import Settings
from taskbridge.dispatch.repository import DeliveryRepository, DispatchConfigRepository
from taskbridge.dispatch.schemas import DispatchConfigCreate, DispatchConfigUpdate, Provider
from taskbridge.dispatch.sender import Target
from taskbridge.dispatch.signing_keys import Sealer
from taskbridge.dispatch.ssrf import EndpointRefused, check_endpoint
from taskbridge.errors import BadRequest, Conflict, NotFound
from taskbridge.kit.time import utcnow
from taskbridge.models import DispatchConfig

AUTH_VALUE = "auth_header_value"


@dataclass(frozen=True, slots=True)
class ConfigWithSecret:
    """A config and its new signing secret, which is shown this once."""

    config: DispatchConfig
    signing_secret: str


def _sealer(settings: Settings) -> Sealer:
    return Sealer("dispatch_config", settings)


def _seal(settings: Settings, config_id: uuid.UUID, field: str, value: str) -> str:
    return _sealer(settings).seal(config_id, field, value)


def _unseal(settings: Settings, config_id: uuid.UUID, field: str, token: str) -> str:
    return _sealer(settings).unseal(config_id, field, token)


async def check_url(url: str, settings: Settings, *, field: str = "endpoint_url") -> str:
    """The SSRF guard on a URL taskbridge will send to (dispatch configs, event endpoints): one
    naming a non-public address is a 400 on ``field`` unless the platform allows private
    networks (the send re-checks every address as it connects)."""
    try:
        await check_endpoint(url, allow_private_networks=settings.dispatch_allow_private_networks)
    except EndpointRefused as refused:
        raise BadRequest(str(refused), field=field) from None
    return url


def _channel_taken(channel: str, config_id: uuid.UUID) -> Conflict:
    return Conflict(
        f"Channel {channel} already has an active dispatch config ({config_id}); "
        "deactivate it first",
        existingConfigId=str(config_id),
    )


async def _ensure_channel_free(
    repo: DispatchConfigRepository, channel: str, config_id: uuid.UUID | None = None
) -> None:
    active = await repo.active_for_channel(channel)
    if active is not None and active.id != config_id:
        raise _channel_taken(channel, active.id)


async def _flush_unique(session: AsyncSession, channel: str) -> None:
    """Flush; a concurrent activation of the same channel loses with a 409, not a 500."""
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"Channel {channel} already has an active dispatch config") from None


async def create_config(
    session: AsyncSession, tenant_id: uuid.UUID, data: DispatchConfigCreate, settings: Settings
) -> ConfigWithSecret:
    """An active config for a channel that has none; the signing secret is generated here."""
    if data.provider == Provider.WEBHOOK and data.endpoint_url is None:
        raise BadRequest("is required for the WEBHOOK provider", field="endpoint_url")
    if data.auth_header_name is not None and data.auth_header_value is None:
        raise BadRequest("is required with auth_header_name", field="auth_header_value")
    if data.auth_header_value is not None and data.auth_header_name is None:
        raise BadRequest("is required with auth_header_value", field="auth_header_name")
    if data.endpoint_url is not None:
        await check_url(data.endpoint_url, settings)
    repo = DispatchConfigRepository(session, tenant_id)
    await _ensure_channel_free(repo, str(data.channel))
    config = DispatchConfig(
        id=uuid.uuid4(),
        channel=str(data.channel),
        provider=str(data.provider),
        endpoint_url=data.endpoint_url,
        auth_header_name=data.auth_header_name,
        is_active=True,
    )
    secret = _sealer(settings).new_secret(config)
    if data.auth_header_value is not None:
        config.auth_header_value_sealed = _seal(
            settings, config.id, AUTH_VALUE, data.auth_header_value
        )
    repo.add(config)
    await _flush_unique(session, config.channel)
    _audit(session, "dispatch_config.created", config, None, audited(config))
    return ConfigWithSecret(config=config, signing_secret=secret)


async def list_configs(
    session: AsyncSession, tenant_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[Sequence[DispatchConfig], int]:
    return await DispatchConfigRepository(session, tenant_id).list(offset=offset, limit=limit)


async def get_config(
    session: AsyncSession, tenant_id: uuid.UUID, config_id: uuid.UUID, *, for_update: bool = False
) -> DispatchConfig:
    config = await DispatchConfigRepository(session, tenant_id).get(
        config_id, for_update=for_update
    )
    if config is None:
        raise NotFound(f"Dispatch config '{config_id}' not found")
    return config


async def deactivate(session: AsyncSession, config: DispatchConfig, reason: str) -> None:
    """Stop pushing: pending deliveries are canceled and their tasks stay READY (pull mode)."""
    config.is_active = False
    config.deactivated_reason = reason
    await DeliveryRepository(session, config.tenant_id).cancel_pending_of_config(
        config.id, f"dispatch config deactivated: {reason}"
    )
    await session.flush()


def _apply_auth_header(
    config: DispatchConfig, data: DispatchConfigUpdate, settings: Settings
) -> None:
    fields = data.model_fields_set
    name = data.auth_header_name if "auth_header_name" in fields else config.auth_header_name
    if "auth_header_name" in fields and data.auth_header_name is None:
        if data.auth_header_value is not None:
            raise BadRequest("cannot be set without auth_header_name", field="auth_header_value")
        config.auth_header_name = None
        config.auth_header_value_sealed = None
        return
    if name is None:
        raise BadRequest("is required with auth_header_value", field="auth_header_name")
    if data.auth_header_value is not None:
        config.auth_header_value_sealed = _seal(
            settings, config.id, AUTH_VALUE, data.auth_header_value
        )
    elif config.auth_header_value_sealed is None:
        raise BadRequest("is required with auth_header_name", field="auth_header_value")
    config.auth_header_name = name


async def update_config(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    config_id: uuid.UUID,
    data: DispatchConfigUpdate,
    settings: Settings,
) -> DispatchConfig:
    """Change what the body names: ``is_active``, ``endpoint_url``, the auth header."""
    config = await get_config(session, tenant_id, config_id, for_update=True)
    before = audited(config)
    fields = data.model_fields_set
    if "endpoint_url" in fields:
        if data.endpoint_url is None and config.provider == Provider.WEBHOOK:
            raise BadRequest("is required for the WEBHOOK provider", field="endpoint_url")
        if data.endpoint_url is not None:
            await check_url(data.endpoint_url, settings)
        config.endpoint_url = data.endpoint_url
    if fields & {"auth_header_name", "auth_header_value"}:
        _apply_auth_header(config, data, settings)
    if data.is_active is True and not config.is_active:
        await _ensure_channel_free(
            DispatchConfigRepository(session, tenant_id), config.channel, config.id
        )
        config.is_active = True
        config.deactivated_reason = None
    elif data.is_active is False and config.is_active:
        await deactivate(session, config, "deactivated by an administrator")
    await _flush_unique(session, config.channel)
    after = audited(config, auth_header_replaced=data.auth_header_value is not None)
    stopped = before["is_active"] and not config.is_active
    action = "dispatch_config.deactivated" if stopped else "dispatch_config.updated"
    _audit(session, action, config, before, after)
    return config


async def delete_config(session: AsyncSession, tenant_id: uuid.UUID, config_id: uuid.UUID) -> None:
    """Delete; the delivery log stays (without the config), pending deliveries are canceled."""
    config = await get_config(session, tenant_id, config_id, for_update=True)
    _audit(session, "dispatch_config.deleted", config, audited(config), None)
    await DeliveryRepository(session, tenant_id).cancel_pending_of_config(
        config.id, "dispatch config deleted"
    )
    await DispatchConfigRepository(session, tenant_id).delete(config)
    await session.flush()


async def rotate_secret(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    config_id: uuid.UUID,
    *,
    overlap_seconds: int,
    settings: Settings,
    now: datetime | None = None,
) -> ConfigWithSecret:
    """A new secret; the old one keeps signing (beside it) for ``overlap_seconds``."""
    now = now or utcnow()
    config = await get_config(session, tenant_id, config_id, for_update=True)
    secret = _sealer(settings).rotate(config, overlap_seconds=overlap_seconds, now=now)
    await session.flush()
    rotation = {"overlap_seconds": overlap_seconds, "old_one_valid_until": now}
    _audit(session, "dispatch_config.secret_rotated", config, None, rotation)
    return ConfigWithSecret(config=config, signing_secret=secret)


def audited(config: DispatchConfig, *, auth_header_replaced: bool = False) -> dict[str, Any]:
    """What an audit entry shows of a config: never a secret nor the auth header's value, and
    the endpoint without its query string or credentials (where such URLs carry tokens)."""
    shown: dict[str, Any] = {
        "channel": config.channel,
        "provider": config.provider,
        "endpoint_url": endpoint_for_audit(config.endpoint_url),
        "auth_header_name": config.auth_header_name,
        "is_active": config.is_active,
        "deactivated_reason": config.deactivated_reason,
    }
    if auth_header_replaced:
        shown["auth_header_replaced"] = True
    return shown


def endpoint_for_audit(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _audit(
    session: AsyncSession,
    action: str,
    config: DispatchConfig,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    tenant_id, target = config.tenant_id, "dispatch_config"
    audit.record(session, tenant_id, action, target, config.id, before=before, after=after)


def target_of(config: DispatchConfig, settings: Settings, now: datetime) -> Target:
    """The unsealed secrets and header of ``config``: the current secret, and the previous one
    while its overlap lasts."""
    header = None
    if config.auth_header_name is not None and config.auth_header_value_sealed is not None:
        value = _unseal(settings, config.id, AUTH_VALUE, config.auth_header_value_sealed)
        header = (config.auth_header_name, value)
    return Target(
        provider=config.provider,
        endpoint_url=config.endpoint_url,
        signing_secrets=_sealer(settings).signing_secrets(config, now),
        auth_header=header,
    )
