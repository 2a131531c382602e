"""Commerces and operators: every row checked with no database, then synced in bulk by key."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.commerces import service as commerces
from taskbridge.commerces.schemas import CommerceItem, SyncSummary
from taskbridge.imports.rows import Advance, chunks, parse, refuse_if_any, repeats
from taskbridge.imports.schemas import ImportKind, ImportSummary, RowError
from taskbridge.imports.table import CsvTable
from taskbridge.operators import service as operators
from taskbridge.operators.schemas import OperatorItem

SYNC_CHUNK = 500
"""Rows per call of a bulk sync service (progress is reported between calls)."""

ItemT = TypeVar("ItemT", CommerceItem, OperatorItem)


@dataclass(frozen=True, slots=True)
class Upsert(Generic[ItemT]):
    """How one kind of bulk-synced row is read, keyed and written."""

    kind: ImportKind
    model: type[ItemT]
    key: Callable[[ItemT], Hashable]
    describe: Callable[[ItemT], str]
    sync: Callable[[AsyncSession, uuid.UUID, Sequence[ItemT]], Awaitable[SyncSummary]]


COMMERCES = Upsert(
    kind=ImportKind.COMMERCES,
    model=CommerceItem,
    key=lambda item: item.external_id,
    describe=lambda item: f"external_id '{item.external_id}'",
    sync=commerces.sync,
)

OPERATORS = Upsert(
    kind=ImportKind.OPERATORS,
    model=OperatorItem,
    key=lambda item: (item.type, item.external_id),
    describe=lambda item: f"operator {item.type} '{item.external_id}'",
    sync=operators.sync,
)


@dataclass(frozen=True, slots=True)
class PreparedUpserts(Generic[ItemT]):
    """Every row of a file valid in itself, ready to be synced."""

    how: Upsert[ItemT]
    items: list[ItemT]

    async def apply(
        self, session: AsyncSession, tenant_id: uuid.UUID, advance: Advance
    ) -> ImportSummary:
        """Create or update every row by its key, a few statements per chunk."""
        created = updated = 0
        for chunk in chunks(self.items, SYNC_CHUNK):
            summary = await self.how.sync(session, tenant_id, chunk)
            created, updated = created + summary.created, updated + summary.updated
            advance(len(chunk))
        return ImportSummary(
            kind=self.how.kind,
            created=created,
            updated=updated,
            unchanged=0,
            total=len(self.items),
            skipped=[],
        )


def prepare_upserts(
    table: CsvTable, how: Upsert[ItemT], advance: Advance
) -> PreparedUpserts[ItemT]:
    """Each row parsed, keys unique in the file; any problem refuses the file here."""
    errors: list[RowError] = []
    items: list[ItemT] = []
    seen: dict[Hashable, int] = {}
    for row in table.rows:
        item = parse(how.model, row, errors)
        advance(1)
        if item is None:
            continue
        first = repeats(seen, how.key(item), row.line)
        if first is not None:
            errors.append(RowError(row.line, f"{how.describe(item)} repeats line {first}"))
        items.append(item)
    refuse_if_any(errors)
    return PreparedUpserts(how, items)
