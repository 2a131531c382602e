"""Query strings: validated as one model, documented as FastAPI would, and never holding NUL."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from taskbridge.errors import BadRequest, validation_failure
from taskbridge.kit.body import document_schemas
from taskbridge.kit.text import NUL, NUL_RULE

ModelT = TypeVar("ModelT", bound=BaseModel)


def nul_in_query(query_string: bytes) -> BadRequest | None:
    """The 400 naming every query parameter that holds NUL, which PostgreSQL cannot store or
    compare (``q=%00``); None for the query strings every request has. A body's NUL is refused by
    :func:`taskbridge.kit.body.JsonBody`, with the same rule."""
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    # Decoded as Starlette decodes ``request.query_params``, so the names are the ones routes see.
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    names = dict.fromkeys(name for name, value in pairs if NUL in name or NUL in value)
    if not names:
        return None
    return validation_failure(
        {
            "loc": ("query", name.replace(NUL, "\\u0000")),
            "type": "value_error",
            "ctx": {"error": NUL_RULE},
        }
        for name in names
    )


def QueryModel(model: type[ModelT]) -> Any:  # noqa: N802 - reads as a type in signatures
    """A dependency yielding ``model`` validated from the query string (400 naming every field).

    FastAPI validates query parameters one by one and inspects each one's annotation on every
    request: on a hot route with a dozen optional parameters that was a third of its CPU. A
    repeated parameter counts once, by its last value, as it does in FastAPI.
    """

    async def parse_query(request: Request) -> ModelT:
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise validation_failure([dict(e) for e in exc.errors(include_url=False)]) from None

    return Depends(parse_query)


def documented_query(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents a query read through :func:`QueryModel`."""
    schema = document_schemas(model.model_json_schema(ref_template="#/components/schemas/{model}"))
    required = set(schema.get("required", ()))
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {"title": name.replace("_", " ").title(), **field},
            }
            for name, field in schema["properties"].items()
        ]
    }
