"""Text every database can store: PostgreSQL refuses the NUL character in text and JSONB."""

from __future__ import annotations

from typing import Any

NUL = "\x00"
NUL_RULE = "must not contain the NUL character (\\u0000)"
"""Refused in bodies by ``kit.body.JsonBody``, in query strings by ``kit.uow.UnitOfWorkRoute``."""


def nul_paths(document: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Where a parsed JSON document holds NUL, in a string or in an object key."""
    if isinstance(document, str):
        return [path] if NUL in document else []
    found: list[tuple[str | int, ...]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            inner = (*path, key)
            found.extend([inner] if NUL in key else nul_paths(value, inner))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(nul_paths(value, (*path, index)))
    return found
