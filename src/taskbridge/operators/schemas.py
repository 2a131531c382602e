from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

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
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
"""Operator contact details are stored as given: taskbridge never writes to them, so ``email`` is
not checked as an address (nor documented as ``format: email``)."""

ITEM_EXAMPLE = {
    "external_id": "OP-17",
    "type": "SALESMAN",
    "name": "Ana Rojas",
    "email": "ana.rojas@example.com",
    "phone": "+56 9 1234 5678",
}
OPERATOR_EXAMPLE = {
    "id": "6e7f8a9b-0c1d-4e2f-a3b4-c5d6e7f8a9b0",
    "type": "SALESMAN",
    "externalId": "OP-17",
    "name": "Ana Rojas",
    "email": "ana.rojas@example.com",
    "phone": "+56 9 1234 5678",
    "isActive": True,
    "createdAt": "2026-04-01T12:00:00.000Z",
    "updatedAt": "2026-04-01T12:00:00.000Z",
}


class OperatorType(StrEnum):
    SALESMAN = "SALESMAN"
    ACTIVATOR = "ACTIVATOR"
    CALLCENTER = "CALLCENTER"


class OperatorItem(RequestModel):
    model_config = examples(ITEM_EXAMPLE)

    external_id: ExternalId
    type: OperatorType
    name: Name
    email: Email | None = None
    phone: Phone | None = None


class OperatorSync(RequestModel):
    """Every (``type``, ``external_id``) appears once (a repeat is a 400 naming both items)."""

    model_config = examples(
        {
            "items": [
                ITEM_EXAMPLE,
                {"external_id": "OP-22", "type": "CALLCENTER", "name": "Luis Soto"},
            ]
        }
    )

    items: Annotated[list[OperatorItem], Field(min_length=1, max_length=10_000)]


class OperatorUpdate(RequestModel):
    """Only the fields sent change; ``email`` and ``phone`` may be cleared with ``null``."""

    model_config = examples({"phone": None, "is_active": False})

    name: Omittable[Name] = None
    email: Email | None = None
    phone: Phone | None = None
    is_active: Omittable[StrictBool] = None


class OperatorRead(ResponseModel):
    model_config = examples(OPERATOR_EXAMPLE)

    id: uuid.UUID
    type: str
    external_id: str
    name: str
    email: str | None
    phone: str | None
    is_active: bool
    created_at: Timestamp
    updated_at: Timestamp


class OperatorPage(ResponseModel):
    model_config = examples(page_example(OPERATOR_EXAMPLE))

    data: list[OperatorRead]
    meta: PageMeta
