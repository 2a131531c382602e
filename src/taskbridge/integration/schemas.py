from __future__ import annotations

import uuid

from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.kit.case import ResponseModel
from taskbridge.kit.time import Timestamp


class TenantSummary(ResponseModel):
    id: uuid.UUID
    name: str
    slug: str


class ApiKeySummary(ResponseModel):
    id: uuid.UUID
    name: str
    key_prefix: str
    permissions: list[str]
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    created_at: Timestamp


class KeyIntrospection(ResponseModel):
    tenant: TenantSummary
    api_key: ApiKeySummary

    @classmethod
    def of(cls, key: ApiKeyPrincipal) -> KeyIntrospection:
        return cls(
            tenant=TenantSummary(id=key.tenant.id, name=key.tenant.name, slug=key.tenant.slug),
            api_key=ApiKeySummary(
                id=key.key_id,
                name=key.name,
                key_prefix=key.key_prefix,
                permissions=sorted(str(p) for p in key.permissions),
                expires_at=key.expires_at,
                last_used_at=key.last_used_at,
                created_at=key.created_at,
            ),
        )
