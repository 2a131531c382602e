from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

from taskbridge.kit.case import RequestModel, ResponseModel
from taskbridge.kit.time import Timestamp


class Locale(StrEnum):
    ES = "es"
    EN = "en"


class TenantCreate(RequestModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    slug: Annotated[str, StringConstraints(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    locale: Locale = Locale.ES
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"


class TenantRead(ResponseModel):
    id: uuid.UUID
    name: str
    slug: str
    locale: str
    time_zone: str
    created_at: Timestamp
