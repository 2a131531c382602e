"""Wire-format models: snake_case in, camelCase out; fields a client may omit but not null."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

NOT_NULL_RULE = "must not be null"


class RequestModel(BaseModel):
    """A request body: snake_case fields, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    """A response body: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError(NOT_NULL_RULE)
    return value


@dataclass(frozen=True, slots=True)
class _NotNull:
    """Validates ``T | None`` as ``T`` alone: only an absent field is ``None`` (its default)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        present = tuple(arg for arg in get_args(source) if arg is not type(None))
        # A Union built from a tuple has no ``X | Y`` spelling.
        inner = present[0] if len(present) == 1 else Union[present]  # noqa: UP007
        return core_schema.no_info_before_validator_function(
            _refuse_null, handler.generate_schema(inner)
        )


Omittable = Annotated[T | None, _NotNull()]
"""A field a client may leave out (``None`` here) but never send as ``null``: for a column that
holds no null, ``{"is_active": null}`` is a 400 naming the field, not a failed write. The
documented schema is ``T``'s, without ``null``; the field's default must be ``None``."""
