"""Result types on the wire: the integration config shape and the admin shape."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from taskbridge.kit.case import (
    NOT_BLANK,
    Documented,
    Omittable,
    RequestModel,
    ResponseModel,
    examples,
)
from taskbridge.kit.model import MAX_INTEGER
from taskbridge.kit.pagination import PageMeta, page_example
from taskbridge.kit.time import Timestamp

CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
Code = Annotated[str, StringConstraints(max_length=64, pattern=CODE_PATTERN)]
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=120), Documented({"pattern": NOT_BLANK})
]
"""A blank label is refused by the service ("must not be blank"); the schema says so too."""
Translations = Annotated[
    dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")], Label],
    Documented({"additionalProperties": False}),
]
"""Language codes to labels: a key that is not a language code is refused, so the schema's
``patternProperties`` leave no room for other keys."""

CONFIG_EXAMPLE = {
    "code": "RESCHEDULE",
    "label": "Reprogramar visita",
    "requiresFutureScheduledAt": True,
}
RESULT_TYPE_EXAMPLE = {
    **CONFIG_EXAMPLE,
    "id": "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
    "position": 2,
    "isActive": True,
    "translations": {"en": "Reschedule visit"},
    "createdAt": "2026-04-01T12:00:00.000Z",
    "updatedAt": "2026-04-01T12:00:00.000Z",
}


class ResultTypeConfig(ResponseModel):
    """What integrators read: send ``code``, show ``label``."""

    model_config = examples(CONFIG_EXAMPLE)

    code: str
    label: str
    requires_future_scheduled_at: bool


class ResultTypeRead(ResultTypeConfig):
    """The admin shape."""

    model_config = examples(RESULT_TYPE_EXAMPLE)

    id: uuid.UUID
    position: int
    is_active: bool
    translations: dict[str, str]
    created_at: Timestamp
    updated_at: Timestamp


class ResultTypeCreate(RequestModel):
    model_config = examples(
        {
            "code": "RESCHEDULE",
            "label": "Reprogramar visita",
            "requires_future_scheduled_at": True,
            "translations": {"en": "Reschedule visit"},
        }
    )

    code: Code
    label: Label
    requires_future_scheduled_at: StrictBool = False
    translations: Translations = Field(default_factory=dict)


class ResultTypeUpdate(RequestModel):
    """Only the fields sent change; ``code`` never does (sending it is a 400 saying why)."""

    model_config = examples({"label": "Reprogramar", "position": 0})

    label: Omittable[Label] = None
    requires_future_scheduled_at: Omittable[StrictBool] = None
    translations: Omittable[Translations] = None
    position: Omittable[Annotated[StrictInt, Field(ge=0, le=MAX_INTEGER)]] = None
    code: SkipJsonSchema[Any] = None
    """Never accepted: present only so that sending it is refused with the reason."""

    @field_validator("code")
    @classmethod
    def _refuse_code(cls, _value: Any) -> None:
        raise ValueError(
            "cannot be changed: codes are immutable; create a new result type and archive this one"
        )


class ResultTypeReorder(RequestModel):
    """Every active code of the tenant, once each, in the new display order."""

    model_config = examples({"codes": ["SALE_COMPLETED", "RESCHEDULE", "NOT_INTERESTED"]})

    codes: Annotated[
        list[Annotated[str, Documented({"pattern": CODE_PATTERN})]],
        Documented({"uniqueItems": True}),
    ]


class ResultTypePage(ResponseModel):
    model_config = examples(page_example(RESULT_TYPE_EXAMPLE))

    data: list[ResultTypeRead]
    meta: PageMeta
