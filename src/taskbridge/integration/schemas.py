from __future__ import annotations

import uuid
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from taskbridge.activities.schemas import TaskFilters
from taskbridge.activities.status import Channel, IntegrationStatus
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.auth.schemas import KEY_EXAMPLE as LISTED_KEY
from taskbridge.kit.case import ResponseModel, examples
from taskbridge.kit.pagination import DEFAULT_PER_PAGE, Limit, PageNumber, PerPage, page_size
from taskbridge.kit.time import AwareDatetime, Timestamp
from taskbridge.results.schemas import ResultStatus


class TaskQuery(BaseModel):
    """The query of the task list, validated as one model (one call, not one per parameter).

    A parameter it does not name is refused by the route (``kit.query``), not here."""

    page: PageNumber = 1
    per_page: PerPage = DEFAULT_PER_PAGE
    limit: Limit | None = None
    status: IntegrationStatus | None = None
    result_status: ResultStatus | None = None
    channel: Channel | None = None
    external_commerce_id: str | None = None
    external_operator_id: str | None = None
    scheduled_from: AwareDatetime | None = None
    scheduled_to: AwareDatetime | None = None
    updated_since: AwareDatetime | None = None
    cursor: Annotated[str | None, Field(max_length=512)] = None

    @model_validator(mode="after")
    def _limit_is_per_page(self) -> Self:
        """``per_page`` becomes ``limit`` when only that was sent; both, differing, raise the
        400 itself (a ``BadRequest`` passes through pydantic, which wraps only ``ValueError``,
        and so keeps naming ``limit`` rather than the whole query)."""
        given = "per_page" in self.model_fields_set
        self.per_page = page_size(self.per_page, self.limit, per_page_given=given)
        return self

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


TENANT_EXAMPLE = {"id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "name": "Acme", "slug": "acme"}
KEY_EXAMPLE = {name: value for name, value in LISTED_KEY.items() if name != "revokedAt"}


class TenantSummary(ResponseModel):
    model_config = examples(TENANT_EXAMPLE)

    id: uuid.UUID
    name: str
    slug: str


class ApiKeySummary(ResponseModel):
    model_config = examples(KEY_EXAMPLE)

    id: uuid.UUID
    name: str
    key_prefix: str
    permissions: list[str]
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    created_at: Timestamp


class KeyIntrospection(ResponseModel):
    model_config = examples({"tenant": TENANT_EXAMPLE, "apiKey": KEY_EXAMPLE})

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
