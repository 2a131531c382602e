"""Responses rendered once from a model, in the contract's JSON."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Response
from pydantic import BaseModel, TypeAdapter

JSON = "application/json"


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(by_alias=True), status_code=status_code, media_type=JSON)


def models_response(models: Sequence[BaseModel], status_code: int = 200) -> Response:
    """A bare JSON array of models."""
    adapter: TypeAdapter[Sequence[BaseModel]] = TypeAdapter(Sequence[BaseModel])
    body = adapter.dump_json(models, by_alias=True, serialize_as_any=True)
    return Response(body, status_code=status_code, media_type=JSON)
