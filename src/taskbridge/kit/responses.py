"""Responses rendered once, in the contract's JSON."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json

JSON = "application/json"


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(by_alias=True), status_code=status_code, media_type=JSON)


def document_response(document: Any, status_code: int = 200) -> Response:
    """A JSON-ready document (already camelCase, timestamps already formatted), serialised by
    pydantic's encoder: the same bytes a model would give, without building the model."""
    return Response(to_json(document), status_code=status_code, media_type=JSON)
