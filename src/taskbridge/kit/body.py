"""JSON request bodies parsed *after* authentication, so 401/403 always come before 400."""

from __future__ import annotations

import inspect
import json
from typing import Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from taskbridge.errors import validation_failure
from taskbridge.kit.text import NUL_RULE, nul_paths

ModelT = TypeVar("ModelT", bound=BaseModel)

_documented_schemas: dict[str, Any] = {}


def JsonBody(model: type[ModelT]) -> Any:  # noqa: N802 - reads as a type in signatures
    """A dependency yielding ``model`` validated from the raw body (400 naming every field)."""

    async def parse_body(request: Request) -> ModelT:
        return parse_json(model, await request.body())

    return Depends(parse_body)


def parse_json(model: type[ModelT], raw: bytes) -> ModelT:
    """``model`` validated from a raw JSON body (400 naming every field; a NUL is refused)."""
    try:
        parsed = model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise validation_failure([dict(e) for e in exc.errors(include_url=False)]) from None
    if b"\\u0000" in raw:
        _refuse_nul(raw)
    return parsed


def _refuse_nul(raw: bytes) -> None:
    """A 400 naming every field that holds NUL, which PostgreSQL cannot store."""
    paths = nul_paths(json.loads(raw))
    if paths:
        errors = [
            {"loc": path, "type": "value_error", "ctx": {"error": NUL_RULE}} for path in paths
        ]
        raise validation_failure(errors)


def document_schemas(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its ``$defs``, which go to the document's components."""
    _documented_schemas.update(schema.pop("$defs", {}))
    return schema


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents a body read through :func:`JsonBody`."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    _documented_schemas[model.__name__] = document_schemas(schema)
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def body_model_of(dependency: object) -> type[BaseModel] | None:
    """The model a :func:`JsonBody` dependency reads (None for any other dependency), so the
    document can describe the body of a route that did not declare it."""
    if getattr(dependency, "__code__", None) is not _PARSER_CODE:
        return None
    model = inspect.getclosurevars(dependency).nonlocals.get("model")  # type: ignore[arg-type]
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_PARSER_CODE = JsonBody(BaseModel).dependency.__code__
"""Every :func:`JsonBody` dependency runs this code, whatever its model."""


def add_documented_bodies(openapi: dict[str, Any]) -> dict[str, Any]:
    openapi.setdefault("components", {}).setdefault("schemas", {}).update(_documented_schemas)
    return openapi
