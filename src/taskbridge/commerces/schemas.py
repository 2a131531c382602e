from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field, StrictBool, StringConstraints

from taskbridge.kit.case import NOT_BLANK, Omittable, RequestModel, ResponseModel, examples
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import Timestamp

ExternalId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NOT_BLANK)
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NOT_BLANK)
]
TaxId = Annotated[str, StringConstraints(max_length=64)]
Metadata = dict[str, Any]

ITEM_EXAMPLE = {
    "external_id": "COM-001",
    "name": "Almacén Don Pedro",
    "tax_id": "76.123.456-7",
    "metadata": {"zone": "Norte"},
}
COMMERCE_EXAMPLE = {
    "id": "3c6f1d2a-7b8e-4f90-a1b2-c3d4e5f60718",
    "externalId": "COM-001",
    "name": "Almacén Don Pedro",
    "taxId": "76.123.456-7",
    "metadata": {"zone": "Norte"},
    "isActive": True,
    "createdAt": "2026-04-01T12:00:00.000Z",
    "updatedAt": "2026-04-10T14:30:00.000Z",
}


class CommerceItem(RequestModel):
    model_config = examples(ITEM_EXAMPLE)

    external_id: ExternalId
    name: Name
    tax_id: TaxId | None = None
    metadata: Omittable[Metadata] = None
    """Absent is ``{}``."""


class CommerceSync(RequestModel):
    """Every item's ``external_id`` appears once (a repeat is a 400 naming both items)."""

    model_config = examples(
        {"items": [ITEM_EXAMPLE, {"external_id": "COM-002", "name": "Minimarket La Esquina"}]}
    )

    items: Annotated[list[CommerceItem], Field(min_length=1, max_length=10_000)]


class CommerceUpdate(RequestModel):
    """Only the fields sent change; ``tax_id`` may be cleared with ``null``."""

    model_config = examples({"name": "Almacén Don Pedro e Hijos", "is_active": False})

    name: Omittable[Name] = None
    tax_id: TaxId | None = None
    metadata: Omittable[Metadata] = None
    is_active: Omittable[StrictBool] = None


class CommerceRead(ResponseModel):
    model_config = examples(COMMERCE_EXAMPLE)

    id: uuid.UUID
    external_id: str
    name: str
    tax_id: str | None
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    is_active: bool
    created_at: Timestamp
    updated_at: Timestamp


class SyncSummary(ResponseModel):
    model_config = examples({"created": 1, "updated": 1, "total": 2})

    created: int
    updated: int
    total: int


class CommercePage(ResponseModel):
    model_config = examples(page_example(COMMERCE_EXAMPLE))

    data: list[CommerceRead]
    meta: PageMeta
