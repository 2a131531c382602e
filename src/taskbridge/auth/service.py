"""API keys: authenticate, create (plaintext shown once), list, revoke."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.auth import repository
from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.auth.principal import ApiKeyPrincipal, TenantRef
from taskbridge.errors import BadRequest, Forbidden, NotFound, Unauthorized
from taskbridge.kit.crypto import generate_api_key, hash_api_key, key_prefix, looks_like_api_key
from taskbridge.kit.time import format_timestamp, utcnow
from taskbridge.models import ApiKey

INVALID_KEY_MESSAGE = "API key missing or invalid"
LAST_USED_RESOLUTION = timedelta(seconds=60)
"""``last_used_at`` is written at most once a minute per key, not on every request."""


def key_digest(plaintext: str | None) -> str:
    """The stored form of a presented key; 401 for a missing or malformed one."""
    if not plaintext or not looks_like_api_key(plaintext):
        raise Unauthorized(INVALID_KEY_MESSAGE)
    return hash_api_key(plaintext)


async def load_principal(session: AsyncSession, digest: str) -> ApiKeyPrincipal | None:
    """The key behind ``digest`` unless unknown or revoked; notes its use at most once a minute."""
    found = await repository.find_key_with_tenant_by_hash(session, digest)
    if found is None:
        return None
    key, tenant = found
    if key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        await repository.touch_last_used(session, key.id, now)
        key.last_used_at = now
    return ApiKeyPrincipal(
        key_id=key.id,
        name=key.name,
        key_prefix=key.key_prefix,
        permissions=frozenset(Permission(p) for p in key.permissions if p in Permission.__members__)
        & TENANT_KEY_PERMISSIONS,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        created_at=key.created_at,
        tenant=TenantRef(id=tenant.id, name=tenant.name, slug=tenant.slug, locale=tenant.locale),
    )


def usable(principal: ApiKeyPrincipal | None) -> ApiKeyPrincipal:
    """401 unless the key exists, is not revoked and has not expired by now."""
    if principal is None:
        raise Unauthorized(INVALID_KEY_MESSAGE)
    if principal.expired_at(utcnow()):
        raise Unauthorized(INVALID_KEY_MESSAGE)
    return principal


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    key: ApiKey
    plaintext: str


def _validate_new_key(
    name: str, permissions: Sequence[str], expires_at: datetime | None
) -> list[Permission]:
    """400 for a blank name, no or unknown permissions, a platform permission, a past expiry."""
    if not name.strip():
        raise BadRequest("must not be blank", field="name")
    if len(name) > 255:
        raise BadRequest("must be at most 255 characters", field="name")
    if not permissions:
        raise BadRequest("must name at least one permission", field="permissions")
    unknown = [p for p in permissions if p not in Permission.__members__]
    if unknown:
        raise BadRequest(
            f"unknown permission '{unknown[0]}'; valid: {', '.join(Permission)}",
            field="permissions",
        )
    platform = [p for p in permissions if Permission(p) not in TENANT_KEY_PERMISSIONS]
    if platform:
        raise BadRequest(
            f"'{platform[0]}' is a platform permission; a tenant's key holds at most "
            "what the tenant's ADMIN holds",
            field="permissions",
        )
    if expires_at is not None and expires_at <= utcnow():
        raise BadRequest("must be in the future", field="expires_at")
    return sorted({Permission(p) for p in permissions})


def _bounded_expiry(
    expires_at: datetime | None, creator_expires_at: datetime | None
) -> datetime | None:
    """A key made by an expiring key expires no later than it: by default at the same instant."""
    if creator_expires_at is None:
        return expires_at
    if expires_at is None:
        return creator_expires_at
    if expires_at > creator_expires_at:
        raise BadRequest(
            f"must not be after the creating key's expiry ({format_timestamp(creator_expires_at)})",
            field="expires_at",
        )
    return expires_at


async def create_api_key(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    permissions: Sequence[str],
    expires_at: datetime | None = None,
    granted_by: Iterable[Permission] | None = None,
    created_by_key_id: uuid.UUID | None = None,
    creator_expires_at: datetime | None = None,
) -> CreatedApiKey:
    """A new key; ``granted_by`` (the creator's permissions) bounds what it may carry, and
    ``creator_expires_at`` (an expiring key's own expiry) bounds how long it may live."""
    wanted = _validate_new_key(name, permissions, expires_at)
    expires_at = _bounded_expiry(expires_at, creator_expires_at)
    if granted_by is not None:
        allowed = set(granted_by)
        beyond = [p for p in wanted if p not in allowed]
        if beyond:
            raise Forbidden(
                f"A key can only grant permissions its creator has; missing: {', '.join(beyond)}",
                requiredPermission=str(beyond[0]),
            )
    plaintext = generate_api_key()
    key = ApiKey(
        id=uuid.uuid4(),
        name=name.strip(),
        key_prefix=key_prefix(plaintext),
        key_hash=hash_api_key(plaintext),
        permissions=[str(p) for p in wanted],
        expires_at=expires_at,
        created_by_key_id=created_by_key_id,
    )
    repository.ApiKeyRepository(session, tenant_id).add(key)
    await session.flush()
    audit.record(session, tenant_id, "api_key.created", "api_key", key.id, after=audited(key))
    return CreatedApiKey(key=key, plaintext=plaintext)


async def list_api_keys(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[ApiKey]:
    return await repository.ApiKeyRepository(session, tenant_id).list()


async def revoke_api_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Soft delete; revoking twice keeps the first revocation time."""
    key = await repository.ApiKeyRepository(session, tenant_id).get(key_id)
    if key is None:
        raise NotFound(f"API key '{key_id}' not found")
    if key.revoked_at is None:
        before = audited(key)
        key.revoked_at = utcnow()
        await session.flush()
        after = audited(key)
        audit.record(
            session, tenant_id, "api_key.revoked", "api_key", key.id, before=before, after=after
        )
    return key


def audited(key: ApiKey) -> dict[str, object]:
    """What an audit entry shows of a key: never its hash nor its plaintext."""
    return {
        "name": key.name,
        "key_prefix": key.key_prefix,
        "permissions": list(key.permissions),
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }
