"""Imports: check every row with no database, then write them all in one short transaction.

Rows are validated with the request models of the REST API, so a CSV cell obeys exactly the rule
its JSON field does. :func:`prepare` does everything a file can be judged on by itself, before
any transaction begins (a bad commerce or operator row refuses the file there); :func:`apply`
looks up what exists and writes in bulk, in the caller's unit of work, which commits or rolls
back as a whole. On SQLite that unit of work holds the database's only write lock, so it must be
short: lookups are a few ``IN (...)`` statements, writes one executemany per table and chunk.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.audit import service as audit
from taskbridge.commerces.schemas import CommerceItem
from taskbridge.imports.rows import Advance, ignore_progress
from taskbridge.imports.schemas import ImportKind, ImportSummary
from taskbridge.imports.table import CsvTable, read_table
from taskbridge.imports.tasks import PreparedTasks, apply_tasks, prepare_tasks
from taskbridge.imports.upserts import (
    COMMERCES,
    OPERATORS,
    PreparedUpserts,
    prepare_upserts,
)
from taskbridge.operators.schemas import OperatorItem

PreparedImport = PreparedUpserts[CommerceItem] | PreparedUpserts[OperatorItem] | PreparedTasks


def progress_steps(table: CsvTable) -> int:
    """Every row is one step when checked and one when written."""
    return 2 * len(table.rows)


def prepare(table: CsvTable, *, advance: Advance = ignore_progress) -> PreparedImport:
    """Every row checked against its request model; no database, no transaction.

    Raises :class:`InvalidImport` for a commerce or operator file with any bad row; a task
    file's own problems wait for :func:`apply`, which adds those of its references.
    """
    if table.kind == ImportKind.COMMERCES:
        return prepare_upserts(table, COMMERCES, advance)
    if table.kind == ImportKind.OPERATORS:
        return prepare_upserts(table, OPERATORS, advance)
    return prepare_tasks(table, advance)


async def apply(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    prepared: PreparedImport,
    *,
    actor: str,
    advance: Advance = ignore_progress,
) -> ImportSummary:
    """Write a prepared file; raises :class:`InvalidImport` naming bad lines, writing nothing.

    Nothing is committed here: the caller's unit of work commits, or rolls back on the error.
    """
    if isinstance(prepared, PreparedTasks):
        summary = await apply_tasks(session, tenant_id, prepared, actor=actor, advance=advance)
    else:
        summary = await prepared.apply(session, tenant_id, advance)
    counts = summary.model_dump(include={"kind", "created", "updated", "unchanged", "total"})
    after = {**counts, "skipped": len(summary.skipped)}
    audit.record(session, tenant_id, "import.run", "import", None, after=after)
    return summary


async def import_table(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    table: CsvTable,
    *,
    actor: str,
    advance: Advance = ignore_progress,
) -> ImportSummary:
    """:func:`prepare` then :func:`apply`, for a caller whose transaction may already be open."""
    prepared = prepare(table, advance=advance)
    return await apply(session, tenant_id, prepared, actor=actor, advance=advance)


async def import_csv(
    session: AsyncSession, tenant_id: uuid.UUID, kind: ImportKind, text: str, *, actor: str
) -> ImportSummary:
    """Read and import a whole CSV document (the web panel's upload)."""
    return await import_table(session, tenant_id, read_table(kind, text), actor=actor)
