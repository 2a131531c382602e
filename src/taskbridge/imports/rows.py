"""Rows checked one at a time against the REST API's request models: no database involved."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from taskbridge.errors import validation_failure
from taskbridge.imports.schemas import InvalidImport, RowError
from taskbridge.imports.table import CsvRow

Advance = Callable[[int], None]
"""Told how many more steps are done (an import takes two per row: checked, then written)."""

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT")


def ignore_progress(_steps: int) -> None:
    return None


def parse(model: type[ModelT], row: CsvRow, errors: list[RowError]) -> ModelT | None:
    """The row as the REST API's request model, or ``None`` with its errors recorded."""
    try:
        return model.model_validate(row.values)
    except ValidationError as exc:
        details = validation_failure([dict(e) for e in exc.errors()]).extra["details"]
        errors.extend(RowError(row.line, detail["message"]) for detail in details)
        return None


def repeats(seen: dict[Hashable, int], key: Hashable, line: int) -> int | None:
    """The earlier line that had ``key``, remembering this one when it is the first."""
    first = seen.setdefault(key, line)
    return None if first == line else first


def refuse_if_any(errors: Sequence[RowError]) -> None:
    if errors:
        raise InvalidImport(errors)


def chunks(items: Sequence[ItemT], size: int) -> Iterator[Sequence[ItemT]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
