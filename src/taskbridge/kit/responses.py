"""Responses rendered once from a model, in the contract's JSON."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

JSON = "application/json"


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(by_alias=True), status_code=status_code, media_type=JSON)
