"""The authenticated caller of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from taskbridge.auth.permissions import Permission


@dataclass(frozen=True, slots=True)
class TenantRef:
    id: uuid.UUID
    name: str
    slug: str
    locale: str


@dataclass(frozen=True, slots=True)
class ApiKeyPrincipal:
    """A valid, unrevoked, unexpired API key and the tenant it belongs to."""

    key_id: uuid.UUID
    name: str
    key_prefix: str
    permissions: frozenset[Permission]
    expires_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    tenant: TenantRef

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id

    @property
    def actor(self) -> str:
        """How this caller is named in activity events."""
        return f"api_key:{self.key_id}"
