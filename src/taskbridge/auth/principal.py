"""The authenticated caller of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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

    @property
    def api_key_id(self) -> uuid.UUID | None:
        return self.key_id

    def expired_at(self, instant: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= instant


@dataclass(frozen=True, slots=True)
class UserPrincipal:
    """A signed-in person acting in one tenant, with the permissions of their role there."""

    user_id: uuid.UUID
    email: str
    role: str
    permissions: frozenset[Permission]
    tenant: TenantRef

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id

    @property
    def actor(self) -> str:
        """How this caller is named in activity events."""
        return f"user:{self.user_id}"

    @property
    def api_key_id(self) -> uuid.UUID | None:
        return None

    @property
    def expires_at(self) -> datetime | None:
        """A person's authority does not expire (their sessions do)."""
        return None


class Principal(Protocol):
    """Whoever calls an admin route: an API key or a user's bearer token.

    Admin routes depend on this shape only, so a new kind of caller changes no route.
    """

    @property
    def tenant(self) -> TenantRef: ...

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def permissions(self) -> frozenset[Permission]: ...

    @property
    def actor(self) -> str: ...

    @property
    def expires_at(self) -> datetime | None:
        """When the caller's authority ends (an expiring key's expiry); None: it does not."""

    @property
    def api_key_id(self) -> uuid.UUID | None:
        """The key that made the call, if a key did (recorded as the creator of new keys)."""
