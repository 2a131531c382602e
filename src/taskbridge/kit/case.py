"""Wire-format models: snake_case in, camelCase out; fields a client may omit but not null."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

NOT_NULL_RULE = "must not be null"


class RequestModel(BaseModel):
    """A request body: snake_case fields, unknown fields refused (``additionalProperties:
    false`` in its schema).

    Not ``strict=True`` as a whole: the CLI and CSV imports validate these models from Python
    strings (an enum's value, a UUID), which strict mode refuses. Booleans and integers are
    strict field by field (``StrictBool``, ``StrictInt``), so ``{"is_active": 0}`` or
    ``{"position": false}`` is a 400 naming the field.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        _drop_null_defaults(handler.resolve_ref_schema(document))
        return document


def _drop_null_defaults(schema: JsonSchemaValue) -> None:
    """``default: null`` on a field that refuses null (:data:`Omittable`) would tell a client
    generator to send the null the server refuses: such a field has no default, only absence."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _allows_null(prop):
            del prop["default"]


def _allows_null(prop: Mapping[str, Any]) -> bool:
    if prop.get("type") == "null":
        return True
    return any(_allows_null(option) for option in prop.get("anyOf", ()))


class ResponseModel(BaseModel):
    """A response body: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def examples(*documents: Mapping[str, Any]) -> ConfigDict:
    """``model_config`` carrying the examples a model's schema shows (checked against the model
    by ``tests/test_schema_examples.py``)."""
    return ConfigDict(json_schema_extra={"examples": [dict(d) for d in documents]})


@dataclass(frozen=True, slots=True, eq=False)
class Documented:
    """Keywords added to a type's JSON schema for a rule a validator enforces where pydantic
    cannot show it (a pattern checked in code, ``format: email``). Compared by identity, so it
    can sit in a ``X | None`` (a union hashes its members' metadata)."""

    keywords: Mapping[str, Any] = field(default_factory=dict)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        document.update(self.keywords)
        return document


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
documented schema is ``T``'s, without ``null`` or a default; the field's default must be
``None``."""

NOT_BLANK = (
    r"[^\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
r"""The pattern of text that is stripped and must then be non-empty: with ``strip_whitespace`` and
``min_length=1`` (which give the message), it tells the schema that ``"  "`` is refused.

Not ``\S``: Python's ``str.strip`` (the services' blank rule) and ECMA's ``\s`` (what a client
checks the documented pattern with) disagree on ``\x1c``–``\x1f`` and ``\x85``, so a label of
``"\x85"`` was valid by the schema and refused as blank. This class names Python's whitespace
one by one, so both sides refuse the same texts (``\ufeff``, space only to ECMA, is text here)."""
