from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from taskbridge.activities.schemas import TaskFilters
from taskbridge.activities.status import Channel, IntegrationStatus
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.kit.case import ResponseModel
from taskbridge.kit.pagination import DEFAULT_PER_PAGE, PageNumber, PerPage
from taskbridge.kit.time import AwareDatetime, Timestamp
from taskbridge.results.schemas import ResultStatus


class TaskQuery(BaseModel):
    """The query of the task list, validated as one model (one call, not one per parameter)."""

    page: PageNumber = 1
    per_page: PerPage = DEFAULT_PER_PAGE
    status: IntegrationStatus | None = None
    result_status: ResultStatus | None = None
    channel: Channel | None = None
    external_commerce_id: str | None = None
    external_operator_id: str | None = None
    scheduled_from: AwareDatetime | None = None
    scheduled_to: AwareDatetime | None = None
    updated_since: AwareDatetime | None = None
    cursor: Annotated[str | None, Field(max_length=512)] = None

    def filters(self) -> TaskFilters:
        return TaskFilters(
            status=self.status,
            result_status=self.result_status,
            channel=self.channel,
            external_commerce_id=self.external_commerce_id,
            external_operator_id=self.external_operator_id,
            scheduled_from=self.scheduled_from,
            scheduled_to=self.scheduled_to,
            updated_since=self.updated_since,
        )


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
