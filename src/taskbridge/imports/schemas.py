"""What an import reads (the columns of each kind) and what it reports (errors, summary)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from taskbridge.errors import BadRequest
from taskbridge.kit.case import ResponseModel, examples


class ImportKind(StrEnum):
    COMMERCES = "commerces"
    OPERATORS = "operators"
    TASKS = "tasks"


@dataclass(frozen=True, slots=True)
class Columns:
    """The header an import accepts: every required column, any of the optional ones."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


COLUMNS: dict[ImportKind, Columns] = {
    ImportKind.COMMERCES: Columns(required=("external_id", "name"), optional=("tax_id",)),
    ImportKind.OPERATORS: Columns(
        required=("external_id", "type", "name"), optional=("email", "phone")
    ),
    ImportKind.TASKS: Columns(
        required=("idempotency_key", "commerce_external_id", "channel", "scheduled_at", "reason"),
        optional=("operator_external_id", "provider_activity_id"),
    ),
}

HEADER_LINE = 1


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem, on one line of the file (line 1 is the header)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class InvalidImport(BadRequest):
    """The file has errors; nothing was written. ``errors`` names every one by line."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.line)
        first = str(self.errors[0]) if self.errors else "the file is not valid"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(
            f"{first}{more}; nothing was imported",
            details=[{"line": e.line, "message": e.message} for e in self.errors],
        )


SKIPPED_EXAMPLE = {
    "line": 3,
    "idempotencyKey": "crm-visit-2026-04-15-COM-001",
    "activityId": "5f0c2a9e-8d7b-4a51-9a43-0d6a0b9f6c11",
}


class SkippedRow(ResponseModel):
    """A task row whose ``idempotency_key`` already exists: left as it is."""

    model_config = examples(SKIPPED_EXAMPLE)

    line: int
    idempotency_key: str
    activity_id: uuid.UUID


class ImportSummary(ResponseModel):
    model_config = examples(
        {
            "kind": "tasks",
            "created": 41,
            "updated": 0,
            "unchanged": 0,
            "total": 42,
            "skipped": [SKIPPED_EXAMPLE],
        }
    )

    kind: ImportKind
    created: int
    updated: int
    unchanged: int
    total: int
    skipped: list[SkippedRow]
