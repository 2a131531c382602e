"""Result types on the wire: the integration config shape and the admin shape."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictBool, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from taskbridge.kit.case import Omittable, RequestModel, ResponseModel
from taskbridge.kit.model import MAX_INTEGER
from taskbridge.kit.pagination import PageMeta
from taskbridge.kit.time import Timestamp

CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
Code = Annotated[str, StringConstraints(max_length=64, pattern=CODE_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Translations = dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")], Label]


class ResultTypeConfig(ResponseModel):
    """What integrators read: send ``code``, show ``label``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "RESCHEDULE",
                    "label": "Reprogramar visita",
                    "requiresFutureScheduledAt": True,
                }
            ]
        }
    )

    code: str
    label: str
    requires_future_scheduled_at: bool


class ResultTypeRead(ResultTypeConfig):
    """The admin shape."""

    id: uuid.UUID
    position: int
    is_active: bool
    translations: dict[str, str]
    created_at: Timestamp
    updated_at: Timestamp


class ResultTypeCreate(RequestModel):
    code: Code
    label: Label
    requires_future_scheduled_at: StrictBool = False
    translations: Translations = Field(default_factory=dict)


class ResultTypeUpdate(RequestModel):
    label: Omittable[Label] = None
    requires_future_scheduled_at: Omittable[StrictBool] = None
    translations: Omittable[Translations] = None
    position: Omittable[Annotated[int, Field(ge=0, le=MAX_INTEGER)]] = None
    code: SkipJsonSchema[Any] = None
    """Never accepted: present only so that sending it is refused with the reason."""

    @field_validator("code")
    @classmethod
    def _refuse_code(cls, _value: Any) -> None:
        raise ValueError(
            "cannot be changed: codes are immutable; create a new result type and archive this one"
        )


class ResultTypeReorder(RequestModel):
    codes: list[str]


class ResultTypePage(ResponseModel):
    data: list[ResultTypeRead]
    meta: PageMeta
