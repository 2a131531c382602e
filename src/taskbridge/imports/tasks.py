"""Tasks: every row checked with no database; then, in the write transaction, what already
exists looked up in bulk and every new task created in a few statements."""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import creation
from taskbridge.activities.creation import NewTask
from taskbridge.activities.schemas import TaskCreate
from taskbridge.commerces import service as commerces
from taskbridge.errors import AppError, NotFound
from taskbridge.imports.rows import Advance, chunks, parse, refuse_if_any, repeats
from taskbridge.imports.schemas import ImportKind, ImportSummary, RowError, SkippedRow
from taskbridge.imports.table import CsvTable
from taskbridge.operators import service as operators

WRITE_CHUNK = 1000
"""Tasks per bulk creation (three statements); progress is reported between chunks."""

Line = tuple[int, TaskCreate]


@dataclass(frozen=True, slots=True)
class PreparedTasks:
    """The rows that parsed (their keys unique in the file), and the file's own problems:
    those are reported together with the ones only the database can reveal."""

    rows: list[Line]
    errors: list[RowError]
    total: int


def prepare_tasks(table: CsvTable, advance: Advance) -> PreparedTasks:
    errors: list[RowError] = []
    rows: list[Line] = []
    keys: dict[Hashable, int] = {}
    provider_ids: dict[Hashable, int] = {}
    for row in table.rows:
        task = parse(TaskCreate, row, errors)
        advance(1)
        if task is None:
            continue
        first = repeats(keys, task.idempotency_key, row.line)
        if first is not None:
            message = f"idempotency_key '{task.idempotency_key}' repeats line {first}"
            errors.append(RowError(row.line, message))
            continue
        if task.provider_activity_id is not None:
            first = repeats(provider_ids, task.provider_activity_id, row.line)
            if first is not None:
                message = f"provider_activity_id '{task.provider_activity_id}' repeats line {first}"
                errors.append(RowError(row.line, message))
        rows.append((row.line, task))
    return PreparedTasks(rows=rows, errors=errors, total=len(table.rows))


def _distinct(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value is not None))


def _reference_problem(field: str, error: AppError) -> str:
    """A missing reference names its column; an ambiguous operator's message already does."""
    return f"{field}: {error.message}" if isinstance(error, NotFound) else error.message


@dataclass(frozen=True, slots=True)
class _Found:
    """What the database holds for the new rows' references and provider ids."""

    commerces: dict[str, uuid.UUID | NotFound]
    operators: dict[str, uuid.UUID | AppError]
    provider_ids: dict[str, uuid.UUID]

    def resolve(self, line: int, task: TaskCreate, errors: list[RowError]) -> NewTask | None:
        """The row ready to create, or ``None`` with its problems recorded."""
        problems: list[str] = []
        commerce = self.commerces[task.commerce_external_id]
        if isinstance(commerce, AppError):
            problems.append(_reference_problem("commerce_external_id", commerce))
        operator = None
        if task.operator_external_id is not None:
            operator = self.operators[task.operator_external_id]
            if isinstance(operator, AppError):
                problems.append(_reference_problem("operator_external_id", operator))
        provider_id = task.provider_activity_id
        if provider_id is not None and provider_id in self.provider_ids:
            taken = creation.provider_id_taken(provider_id, self.provider_ids[provider_id])
            problems.append(taken.message)
        errors.extend(RowError(line, problem) for problem in problems)
        if problems or isinstance(commerce, AppError) or isinstance(operator, AppError):
            return None
        return NewTask(task, commerce, operator)


async def _look_up(session: AsyncSession, tenant_id: uuid.UUID, fresh: list[Line]) -> _Found:
    tasks = [task for _, task in fresh]
    return _Found(
        commerces=await commerces.resolve_external_ids(
            session, tenant_id, _distinct(t.commerce_external_id for t in tasks)
        ),
        operators=await operators.resolve_external_ids(
            session,
            tenant_id,
            _distinct(t.operator_external_id for t in tasks),
            field="operator_external_id",
        ),
        provider_ids=await creation.ids_by_provider_id(
            session, tenant_id, _distinct(t.provider_activity_id for t in tasks)
        ),
    )


async def apply_tasks(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    prepared: PreparedTasks,
    *,
    actor: str,
    advance: Advance,
) -> ImportSummary:
    """New READY tasks; a row whose ``idempotency_key`` exists is reported as unchanged.

    Everything is looked up inside the caller's transaction, so what it writes agrees with what
    it read even while other clients create tasks.
    """
    keys = [task.idempotency_key for _, task in prepared.rows]
    existing = await creation.ids_by_idempotency_key(session, tenant_id, keys)
    skipped = [
        SkippedRow(line=line, idempotency_key=task.idempotency_key, activity_id=activity_id)
        for line, task in prepared.rows
        if (activity_id := existing.get(task.idempotency_key)) is not None
    ]
    fresh = [(line, task) for line, task in prepared.rows if task.idempotency_key not in existing]
    found = await _look_up(session, tenant_id, fresh)
    errors = list(prepared.errors)
    ready = [new for line, task in fresh if (new := found.resolve(line, task, errors)) is not None]
    refuse_if_any(errors)
    advance(len(skipped))
    for chunk in chunks(ready, WRITE_CHUNK):
        await creation.create_tasks(session, tenant_id, chunk, actor=actor)
        advance(len(chunk))
    return ImportSummary(
        kind=ImportKind.TASKS,
        created=len(ready),
        updated=0,
        unchanged=len(skipped),
        total=prepared.total,
        skipped=skipped,
    )
