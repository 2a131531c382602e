"""Imports: check every row first, then write through the domain services.

Rows are validated with the request models of the REST API, so a CSV cell obeys exactly the rule
its JSON field does. Any bad row refuses the whole file before anything is written; a service
error while writing names its line and, raised inside the caller's unit of work, rolls it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import service as activities
from taskbridge.activities.schemas import TaskCreate
from taskbridge.commerces import service as commerces
from taskbridge.commerces.schemas import CommerceItem, SyncSummary
from taskbridge.errors import AppError, BadRequest, NotFound, validation_failure
from taskbridge.imports.schemas import (
    ImportKind,
    ImportSummary,
    InvalidImport,
    RowError,
    SkippedRow,
)
from taskbridge.imports.table import CsvRow, CsvTable, read_table
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorItem

SYNC_CHUNK = 500
"""Rows per call of a bulk sync service (progress is reported between calls)."""

Advance = Callable[[int], None]
"""Told how many more steps are done; an import takes :func:`progress_steps` steps in all."""

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT", CommerceItem, OperatorItem)


def _ignore_progress(_steps: int) -> None:
    return None


def progress_steps(table: CsvTable) -> int:
    """Every row is one step when checked and one when written."""
    return 2 * len(table.rows)


def _refuse_if_any(errors: Sequence[RowError]) -> None:
    if errors:
        raise InvalidImport(errors)


def _parse(model: type[ModelT], row: CsvRow, errors: list[RowError]) -> ModelT | None:
    """The row as the REST API's request model, or ``None`` with its errors recorded."""
    try:
        return model.model_validate(row.values)
    except ValidationError as exc:
        details = validation_failure([dict(e) for e in exc.errors()]).extra["details"]
        errors.extend(RowError(row.line, detail["message"]) for detail in details)
        return None


def _repeats(seen: dict[Hashable, int], key: Hashable, line: int) -> int | None:
    """The earlier line that had ``key``, remembering this one when it is the first."""
    first = seen.setdefault(key, line)
    return None if first == line else first


def _chunks(items: Sequence[ItemT], size: int) -> Iterator[Sequence[ItemT]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class _Upsert(Generic[ItemT]):
    """How one kind of bulk-synced row is read, keyed and written."""

    kind: ImportKind
    model: type[ItemT]
    key: Callable[[ItemT], Hashable]
    describe: Callable[[ItemT], str]
    sync: Callable[[AsyncSession, uuid.UUID, Sequence[ItemT]], Awaitable[SyncSummary]]


COMMERCES = _Upsert(
    kind=ImportKind.COMMERCES,
    model=CommerceItem,
    key=lambda item: item.external_id,
    describe=lambda item: f"external_id '{item.external_id}'",
    sync=commerces.sync,
)

OPERATORS = _Upsert(
    kind=ImportKind.OPERATORS,
    model=OperatorItem,
    key=lambda item: (item.type, item.external_id),
    describe=lambda item: f"operator {item.type} '{item.external_id}'",
    sync=operators.sync,
)


async def _import_upserts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    table: CsvTable,
    how: _Upsert[ItemT],
    advance: Advance,
) -> ImportSummary:
    """Create or update every row by its key, in bulk."""
    errors: list[RowError] = []
    items: list[ItemT] = []
    seen: dict[Hashable, int] = {}
    for row in table.rows:
        item = _parse(how.model, row, errors)
        advance(1)
        if item is None:
            continue
        first = _repeats(seen, how.key(item), row.line)
        if first is not None:
            errors.append(RowError(row.line, f"{how.describe(item)} repeats line {first}"))
        items.append(item)
    _refuse_if_any(errors)
    created = updated = 0
    for chunk in _chunks(items, SYNC_CHUNK):
        summary = await how.sync(session, tenant_id, chunk)
        created, updated = created + summary.created, updated + summary.updated
        advance(len(chunk))
    return ImportSummary(
        kind=how.kind, created=created, updated=updated, unchanged=0, total=len(items), skipped=[]
    )


async def _reference_errors(
    session: AsyncSession, tenant_id: uuid.UUID, planned: Sequence[tuple[int, TaskCreate]]
) -> list[RowError]:
    """Rows naming a commerce or operator this tenant does not have (each looked up once)."""
    problems: dict[tuple[str, str], str | None] = {}

    async def check(field: str, external_id: str) -> str | None:
        if (field, external_id) not in problems:
            try:
                if field == "commerce_external_id":
                    await commerces.get_by_external_id(session, tenant_id, external_id)
                else:
                    await operators.get_by_external_id(session, tenant_id, external_id, field=field)
                problems[field, external_id] = None
            except NotFound as exc:
                problems[field, external_id] = f"{field}: {exc.message}"
            except BadRequest as exc:
                problems[field, external_id] = exc.message
        return problems[field, external_id]

    errors: list[RowError] = []
    for line, task in planned:
        references = [("commerce_external_id", task.commerce_external_id)]
        if task.operator_external_id is not None:
            references.append(("operator_external_id", task.operator_external_id))
        for field, external_id in references:
            problem = await check(field, external_id)
            if problem is not None:
                errors.append(RowError(line, problem))
    return errors


@dataclass(slots=True)
class _TaskPlan:
    to_create: list[tuple[int, TaskCreate]]
    skipped: list[SkippedRow]


async def _plan_tasks(
    session: AsyncSession, tenant_id: uuid.UUID, table: CsvTable, advance: Advance
) -> _TaskPlan:
    """Every row checked; rows whose ``idempotency_key`` exists are set aside, not refused."""
    errors: list[RowError] = []
    plan = _TaskPlan(to_create=[], skipped=[])
    keys: dict[Hashable, int] = {}
    provider_ids: dict[Hashable, int] = {}
    for row in table.rows:
        task = _parse(TaskCreate, row, errors)
        advance(1)
        if task is None:
            continue
        first = _repeats(keys, task.idempotency_key, row.line)
        if first is not None:
            message = f"idempotency_key '{task.idempotency_key}' repeats line {first}"
            errors.append(RowError(row.line, message))
            continue
        if task.provider_activity_id is not None:
            first = _repeats(provider_ids, task.provider_activity_id, row.line)
            if first is not None:
                message = f"provider_activity_id '{task.provider_activity_id}' repeats line {first}"
                errors.append(RowError(row.line, message))
        existing = await activities.find_by_idempotency_key(
            session, tenant_id, task.idempotency_key
        )
        if existing is not None:
            plan.skipped.append(
                SkippedRow(
                    line=row.line, idempotency_key=task.idempotency_key, activity_id=existing.id
                )
            )
        else:
            plan.to_create.append((row.line, task))
    errors += await _reference_errors(session, tenant_id, plan.to_create)
    _refuse_if_any(errors)
    return plan


async def _import_tasks(
    session: AsyncSession, tenant_id: uuid.UUID, table: CsvTable, advance: Advance, actor: str
) -> ImportSummary:
    """New READY tasks; a row whose ``idempotency_key`` exists is reported as unchanged."""
    plan = await _plan_tasks(session, tenant_id, table, advance)
    advance(len(plan.skipped))
    for line, task in plan.to_create:
        try:
            await activities.create_task(session, tenant_id, task, actor=actor)
        except AppError as exc:
            raise InvalidImport([RowError(line, exc.message)]) from exc
        advance(1)
    return ImportSummary(
        kind=ImportKind.TASKS,
        created=len(plan.to_create),
        updated=0,
        unchanged=len(plan.skipped),
        total=len(table.rows),
        skipped=plan.skipped,
    )


async def import_table(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    table: CsvTable,
    *,
    actor: str,
    advance: Advance = _ignore_progress,
) -> ImportSummary:
    """Check every row, then write them all; raises :class:`InvalidImport` naming bad lines.

    Nothing is committed here: the caller's unit of work commits, or rolls back on the error.
    """
    if table.kind == ImportKind.COMMERCES:
        return await _import_upserts(session, tenant_id, table, COMMERCES, advance)
    if table.kind == ImportKind.OPERATORS:
        return await _import_upserts(session, tenant_id, table, OPERATORS, advance)
    return await _import_tasks(session, tenant_id, table, advance, actor)


async def import_csv(
    session: AsyncSession, tenant_id: uuid.UUID, kind: ImportKind, text: str, *, actor: str
) -> ImportSummary:
    """Read and import a whole CSV document (the web panel's upload)."""
    return await import_table(session, tenant_id, read_table(kind, text), actor=actor)
