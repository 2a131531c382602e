"""Every statement about activities and their events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, Subquery, and_, exists, func, select, tuple_
from sqlalchemy.orm import aliased

from taskbridge.activities.schemas import TaskFilters
from taskbridge.activities.status import INTERNAL_STATUSES
from taskbridge.kit.pagination import Cursor
from taskbridge.kit.repository import SelectT, TenantRepository
from taskbridge.models import Activity, ActivityEvent, ActivityResult, Commerce, Operator

CurrentResult = aliased(ActivityResult, name="current_result")


@dataclass(frozen=True, slots=True)
class TaskRow:
    """An activity with what its list item shows: commerce, operator, current result."""

    activity: Activity
    commerce_external_id: str
    commerce_name: str
    operator_external_id: str | None
    operator_name: str | None
    result: ActivityResult | None


def _task_row(row: Row[Activity, str, str, str, str, ActivityResult]) -> TaskRow:
    activity, commerce_external_id, commerce_name, operator_external_id, operator_name, result = row
    return TaskRow(
        activity=activity,
        commerce_external_id=commerce_external_id,
        commerce_name=commerce_name,
        operator_external_id=operator_external_id,
        operator_name=operator_name,
        result=result,
    )


class ActivityRepository(TenantRepository):
    def _rows(
        self, page: Subquery | None = None
    ) -> Select[Activity, str, str, str, str, ActivityResult]:
        """Activities with their list-item columns; only those of ``page`` (a subquery with an
        ``id`` column, joined first) when given."""
        stmt = select(
            Activity,
            Commerce.external_id,
            Commerce.name,
            Operator.external_id,
            Operator.name,
            CurrentResult,
        )
        if page is not None:
            stmt = stmt.select_from(page).join(Activity, Activity.id == page.c.id)
        return (
            stmt.join(Commerce, Commerce.id == Activity.commerce_id)
            .outerjoin(Operator, Operator.id == Activity.operator_id)
            .outerjoin(
                CurrentResult,
                and_(
                    CurrentResult.activity_id == Activity.id, CurrentResult.superseded_at.is_(None)
                ),
            )
            .where(Activity.tenant_id == self.tenant_id)
        )

    def _filtered(self, stmt: SelectT, filters: TaskFilters) -> SelectT:
        """Filters as conditions on ``activities`` alone, so a count needs no join."""
        if filters.status is not None:
            stmt = stmt.where(
                Activity.status.in_([str(s) for s in INTERNAL_STATUSES[filters.status]])
            )
        if filters.internal_status is not None:
            stmt = stmt.where(Activity.status == filters.internal_status)
        if filters.result_status is not None:
            stmt = stmt.where(
                exists().where(
                    ActivityResult.activity_id == Activity.id,
                    ActivityResult.superseded_at.is_(None),
                    ActivityResult.status == str(filters.result_status),
                )
            )
        if filters.channel is not None:
            stmt = stmt.where(Activity.channel == str(filters.channel))
        if filters.external_commerce_id is not None:
            # External ids are unique per tenant: an equality lets the planner walk the
            # (commerce_id, scheduled_at) index in page order.
            stmt = stmt.where(
                Activity.commerce_id
                == select(Commerce.id)
                .where(
                    Commerce.tenant_id == self.tenant_id,
                    Commerce.external_id == filters.external_commerce_id,
                )
                .scalar_subquery()
            )
        if filters.external_operator_id is not None:
            stmt = stmt.where(
                Activity.operator_id.in_(
                    select(Operator.id).where(
                        Operator.tenant_id == self.tenant_id,
                        Operator.external_id == filters.external_operator_id,
                    )
                )
            )
        if filters.scheduled_from is not None:
            stmt = stmt.where(Activity.scheduled_at >= filters.scheduled_from)
        if filters.scheduled_to is not None:
            stmt = stmt.where(Activity.scheduled_at <= filters.scheduled_to)
        if filters.updated_since is not None:
            stmt = stmt.where(Activity.updated_at >= filters.updated_since)
        return stmt

    async def count_tasks(self, filters: TaskFilters) -> int:
        stmt = (
            select(func.count()).select_from(Activity).where(Activity.tenant_id == self.tenant_id)
        )
        return int(await self.session.scalar(self._filtered(stmt, filters)) or 0)

    async def list_tasks(
        self, filters: TaskFilters, *, offset: int, limit: int, after: Cursor | None
    ) -> list[TaskRow]:
        """A page ordered by ``scheduled_at`` desc, then id desc; keyset when ``after`` is set.

        The page's ids are chosen first, on ``activities`` alone (an index walk, at any depth),
        and only those rows are joined to their commerce, operator and current result: the cost of
        the joins never grows with the offset, whatever the planner believes about the tables.
        """
        ids = self._filtered(
            select(Activity.id, Activity.scheduled_at).where(Activity.tenant_id == self.tenant_id),
            filters,
        )
        if after is not None:
            ids = ids.where(tuple_(Activity.scheduled_at, Activity.id) < (after.at, after.id))
        page = (
            ids.order_by(Activity.scheduled_at.desc(), Activity.id.desc())
            .offset(None if after is not None else offset)
            .limit(limit)
            .subquery("page")
        )
        stmt = self._rows(page).order_by(page.c.scheduled_at.desc(), page.c.id.desc())
        return [_task_row(row) for row in (await self.session.execute(stmt)).all()]

    async def get_task(self, activity_id: uuid.UUID) -> TaskRow | None:
        row = (await self.session.execute(self._rows().where(Activity.id == activity_id))).first()
        return None if row is None else _task_row(row)

    async def get_tasks(self, activity_ids: Sequence[uuid.UUID]) -> list[TaskRow]:
        stmt = self._rows().where(Activity.id.in_(activity_ids))
        return [_task_row(row) for row in (await self.session.execute(stmt)).all()]

    async def lock_many(self, activity_ids: Sequence[uuid.UUID]) -> Sequence[Activity]:
        """Locked in id order, so that writers locking several never deadlock each other."""
        stmt = (
            self.scoped(select(Activity), Activity)
            .where(Activity.id.in_(activity_ids))
            .order_by(Activity.id)
            .with_for_update()
        )
        return (await self.session.scalars(stmt)).all()

    async def get(self, activity_id: uuid.UUID, *, for_update: bool = False) -> Activity | None:
        stmt = self.scoped(select(Activity), Activity).where(Activity.id == activity_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def lock_for_submission(
        self,
        *,
        activity_id: uuid.UUID | None,
        provider_activity_id: str | None,
        commerce_external_id: str,
    ) -> tuple[Activity, uuid.UUID | None, ActivityResult | None] | None:
        """In one round trip: the activity (locked), the id of the named commerce in this tenant
        (None when it has none), and the activity's current result."""
        named_commerce = (
            select(Commerce.id)
            .where(
                Commerce.tenant_id == self.tenant_id,
                Commerce.external_id == commerce_external_id,
            )
            .scalar_subquery()
        )
        stmt = (
            select(Activity, named_commerce, CurrentResult)
            .outerjoin(
                CurrentResult,
                and_(
                    CurrentResult.activity_id == Activity.id, CurrentResult.superseded_at.is_(None)
                ),
            )
            .where(Activity.tenant_id == self.tenant_id)
            .with_for_update(of=Activity)
        )
        if activity_id is not None:
            stmt = stmt.where(Activity.id == activity_id)
        else:
            stmt = stmt.where(Activity.provider_activity_id == provider_activity_id)
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def get_by_provider_id(
        self, provider_activity_id: str, *, for_update: bool = False
    ) -> Activity | None:
        stmt = self.scoped(select(Activity), Activity).where(
            Activity.provider_activity_id == provider_activity_id
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def get_by_idempotency_key(self, key: str) -> Activity | None:
        stmt = self.scoped(select(Activity), Activity).where(Activity.idempotency_key == key)
        return await self.session.scalar(stmt)

    async def events(self, activity_id: uuid.UUID) -> Sequence[ActivityEvent]:
        stmt = (
            self.scoped(select(ActivityEvent), ActivityEvent)
            .where(ActivityEvent.activity_id == activity_id)
            .order_by(ActivityEvent.created_at, ActivityEvent.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def results(self, activity_id: uuid.UUID) -> Sequence[ActivityResult]:
        """Every result of the activity, newest first (the current one has no ``superseded_at``)."""
        stmt = (
            self.scoped(select(ActivityResult), ActivityResult)
            .where(ActivityResult.activity_id == activity_id)
            .order_by(ActivityResult.created_at.desc(), ActivityResult.id)
        )
        return (await self.session.scalars(stmt)).all()

    def add(self, *rows: Activity | ActivityEvent) -> None:
        for row in rows:
            row.tenant_id = self.tenant_id
            self.session.add(row)
