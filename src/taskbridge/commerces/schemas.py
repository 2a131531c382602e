from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field, StrictBool, StringConstraints

from taskbridge.kit.case import Omittable, RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import Timestamp

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
TaxId = Annotated[str, StringConstraints(max_length=64)]
Metadata = dict[str, Any]


class CommerceItem(RequestModel):
    external_id: ExternalId
    name: Name
    tax_id: TaxId | None = None
    metadata: Omittable[Metadata] = None
    """Absent is ``{}``."""


class CommerceSync(RequestModel):
    items: Annotated[list[CommerceItem], Field(min_length=1, max_length=10_000)]


class CommerceUpdate(RequestModel):
    """Only the fields sent change; ``tax_id`` may be cleared with ``null``."""

    name: Omittable[Name] = None
    tax_id: TaxId | None = None
    metadata: Omittable[Metadata] = None
    is_active: Omittable[StrictBool] = None


class CommerceRead(ResponseModel):
    id: uuid.UUID
    external_id: str
    name: str
    tax_id: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    is_active: bool
    created_at: Timestamp
    updated_at: Timestamp


class SyncSummary(ResponseModel):
    created: int
    updated: int
    total: int


class CommercePage(ResponseModel):
    data: list[CommerceRead]
    meta: PageMeta
