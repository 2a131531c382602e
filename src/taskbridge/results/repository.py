"""Every statement about activity results."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, func, insert, select, update

from taskbridge.kit.model import table_of
from taskbridge.kit.repository import TenantRepository
from taskbridge.models import ActivityResult


@dataclass(frozen=True, slots=True)
class ReplacedResult:
    """The result that was current until ``results.stores.SubmissionStore.supersede_current``."""

    id: uuid.UUID
    status: str
    follow_up_activity_id: uuid.UUID | None


_results = table_of(ActivityResult)
_INSERT = insert(_results)
# An UPDATE's own parameters may not be named after its columns.
_SUPERSEDE_CURRENT = (
    update(_results)
    .where(
        _results.c.tenant_id == bindparam("tenant"),
        _results.c.activity_id == bindparam("activity"),
        _results.c.superseded_at.is_(None),
    )
    .values(superseded_at=bindparam("at"))
    .returning(*(_results.c[f.name] for f in fields(ReplacedResult)))
)


def supersede_query(
    tenant_id: uuid.UUID, activity_id: uuid.UUID, at: datetime
) -> tuple[Update, dict[str, Any]]:
    """The statement superseding the activity's current result at ``at``, with its parameters;
    it returns :class:`ReplacedResult`'s fields, in order."""
    return _SUPERSEDE_CURRENT, {"tenant": tenant_id, "activity": activity_id, "at": at}


class ResultRepository(TenantRepository):
    async def current(self, activity_id: uuid.UUID) -> ActivityResult | None:
        stmt = self.scoped(select(ActivityResult), ActivityResult).where(
            ActivityResult.activity_id == activity_id, ActivityResult.superseded_at.is_(None)
        )
        return await self.session.scalar(stmt)

    async def get(self, result_id: uuid.UUID) -> ActivityResult | None:
        stmt = self.scoped(select(ActivityResult), ActivityResult).where(
            ActivityResult.id == result_id
        )
        return await self.session.scalar(stmt)

    async def search(
        self,
        *,
        status: str | None,
        code: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        include_superseded: bool,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[ActivityResult], int]:
        stmt = self.scoped(select(ActivityResult), ActivityResult)
        if not include_superseded:
            stmt = stmt.where(ActivityResult.superseded_at.is_(None))
        if status is not None:
            stmt = stmt.where(ActivityResult.status == status)
        if code is not None:
            stmt = stmt.where(ActivityResult.code == code)
        if created_from is not None:
            stmt = stmt.where(ActivityResult.created_at >= created_from)
        if created_to is not None:
            stmt = stmt.where(ActivityResult.created_at <= created_to)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        page = stmt.order_by(ActivityResult.created_at.desc(), ActivityResult.id.desc())
        rows = await self.session.scalars(page.offset(offset).limit(limit))
        return rows.all(), int(total or 0)

    def add(self, result: ActivityResult) -> None:
        result.tenant_id = self.tenant_id
        self.session.add(result)

    async def insert(self, values: dict[str, object]) -> None:
        """One result row, without the unit of work (``values`` names every column but tenant)."""
        await self.session.execute(_INSERT, {**values, "tenant_id": self.tenant_id})
