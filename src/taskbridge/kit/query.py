"""Query strings: validated as one model, documented as FastAPI would, never holding NUL, and
never holding a parameter the route does not read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ValidationError

from taskbridge.errors import BadRequest, validation_failure
from taskbridge.kit.body import document_schemas
from taskbridge.kit.text import NUL, NUL_RULE

ModelT = TypeVar("ModelT", bound=BaseModel)

API_PREFIX = "/api/"
"""Only the API refuses unknown parameters: the panel (HTML) reads its own query by hand."""
UNKNOWN_PARAMETER = "is not a known query parameter"
MAX_ECHOED_NAME = 100
"""An unknown name is repeated in the 400, cut to this length."""
FLAG_RULE = "must be true or false"


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


def query_refusal(request: Request, known: frozenset[str] | None) -> BadRequest | None:
    """The 400 this request's query string earns: a NUL anywhere, or a parameter outside
    ``known`` (the route's, from :func:`declared_query_names`; None accepts any name).

    A misspelt or foreign filter (``search=``, ``commerce_id=``) ignored would hand the client
    unfiltered data as if it were filtered; refused, it names the parameter.
    """
    query_string: bytes = request.scope["query_string"]
    if not query_string:
        return None
    refusal = nul_in_query(query_string)
    if refusal is not None or known is None:
        return refusal
    unknown = [name for name in request.query_params if name not in known]
    if not unknown:
        return None
    return validation_failure(
        {
            "loc": ("query", _echoed(name)),
            "type": "value_error",
            "ctx": {"error": UNKNOWN_PARAMETER},
        }
        for name in unknown
    )


def _echoed(name: str) -> str:
    return name if len(name) <= MAX_ECHOED_NAME else name[:MAX_ECHOED_NAME] + "…"


def declared_query_names(route: APIRoute) -> frozenset[str] | None:
    """Every query parameter ``route`` reads, from its dependencies and :func:`QueryModel`s;
    None outside the API (:data:`API_PREFIX`)."""
    if not route.path.startswith(API_PREFIX):
        return None
    return frozenset(_query_names(route.dependant))


def _query_names(dependant: Dependant) -> Iterator[str]:
    for param in dependant.query_params:
        yield param.alias
    if isinstance(dependant.call, _QueryParser):
        model = dependant.call.model
        yield from (info.alias or name for name, info in model.model_fields.items())
    for sub in dependant.dependencies:
        yield from _query_names(sub)


class _QueryParser(Generic[ModelT]):
    """The dependency behind :func:`QueryModel`: a class, so the route can list its fields."""

    def __init__(self, model: type[ModelT]) -> None:
        self.model = model

    async def __call__(self, request: Request) -> ModelT:
        try:
            return self.model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise validation_failure([dict(e) for e in exc.errors(include_url=False)]) from None


def QueryModel(model: type[ModelT]) -> Any:  # noqa: N802 - reads as a type in signatures
    """A dependency yielding ``model`` validated from the query string (400 naming every field).

    FastAPI validates query parameters one by one and inspects each one's annotation on every
    request: on a hot route with a dozen optional parameters that was a third of its CPU. A
    repeated parameter counts once, by its last value, as it does in FastAPI.
    """
    return Depends(_QueryParser(model))


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


def _true_or_false(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError(FLAG_RULE)


QueryFlag = Annotated[bool, BeforeValidator(_true_or_false)]
"""A boolean query parameter: ``true`` or ``false``, as the schema's ``boolean`` is written in a
URL; FastAPI's own reading also takes ``1``, ``yes``, ``on``... that no schema promises."""
