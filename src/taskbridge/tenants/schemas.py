from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

from taskbridge.kit.case import NOT_BLANK, RequestModel, ResponseModel, examples
from taskbridge.kit.time import Timestamp


class Locale(StrEnum):
    ES = "es"
    EN = "en"


class TenantCreate(RequestModel):
    model_config = examples(
        {"name": "Acme", "slug": "acme", "locale": "es", "time_zone": "America/Santiago"}
    )

    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NOT_BLANK),
    ]
    slug: Annotated[str, StringConstraints(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    locale: Locale = Locale.ES
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"


class TenantRead(ResponseModel):
    model_config = examples(
        {
            "id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "name": "Acme",
            "slug": "acme",
            "locale": "es",
            "timeZone": "America/Santiago",
            "createdAt": "2026-04-01T12:00:00.000Z",
        }
    )

    id: uuid.UUID
    name: str
    slug: str
    locale: str
    time_zone: str
    created_at: Timestamp
