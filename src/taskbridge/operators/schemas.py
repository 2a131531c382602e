from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints

from taskbridge.kit.case import Omittable, RequestModel, ResponseModel
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import Timestamp

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class OperatorType(StrEnum):
    SALESMAN = "SALESMAN"
    ACTIVATOR = "ACTIVATOR"
    CALLCENTER = "CALLCENTER"


class OperatorItem(RequestModel):
    external_id: ExternalId
    type: OperatorType
    name: Name
    email: Email | None = None
    phone: Phone | None = None


class OperatorSync(RequestModel):
    items: Annotated[list[OperatorItem], Field(min_length=1, max_length=10_000)]


class OperatorUpdate(RequestModel):
    """Only the fields sent change; ``email`` and ``phone`` may be cleared with ``null``."""

    name: Omittable[Name] = None
    email: Email | None = None
    phone: Phone | None = None
    is_active: Omittable[StrictBool] = None


class OperatorRead(ResponseModel):
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
    data: list[OperatorRead]
    meta: PageMeta
