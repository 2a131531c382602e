"""Every statement about activities and their events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    Subquery,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.engine import Dialect

from taskbridge.activities.schemas import TaskFilters
from taskbridge.activities.status import INTERNAL_STATUSES
from taskbridge.kit.driver import compiled_for
from taskbridge.kit.model import table_of
from taskbridge.kit.pagination import Cursor
from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Activity, ActivityEvent, ActivityResult, Commerce, Operator

activities = Activity.__table__
commerces = Commerce.__table__
operators = Operator.__table__
current_results = ActivityResult.__table__.alias("current_result")

LOOKUP_CHUNK = 500
"""Values per ``IN (...)`` list: far below every driver's limit on bound parameters."""


class ResultRow(NamedTuple):
    """An activity's current result, as a task item shows it."""

    id: uuid.UUID
    activity_id: uuid.UUID
    provider_activity_id: str | None
    commerce_external_id: str
    occurred_at: datetime
    status: str
    external_status: str | None
    source: str
    code: str
    label: str
    comment: str | None
    contact_type: str | None
    operator_external_id: str | None
    future_scheduled_at: datetime | None
    payload: dict[str, Any] | None
    raw_payload: dict[str, Any] | None
    follow_up_activity_id: uuid.UUID | None
    created_at: datetime


class TaskRow(NamedTuple):
    """An activity with what its list item shows: commerce, operator, current result.

    Read with Core (plain rows, no ORM entities): a page of tasks is the API's busiest read.
    """

    id: uuid.UUID
    origin: str
    type: str
    status: str
    channel: str
    scheduled_at: datetime
    occurred_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_dispatch_error: str | None
    provider_activity_id: str | None
    reason: str
    parent_activity_id: uuid.UUID | None
    idempotency_key: str
    dispatch_attempts: int
    commerce_external_id: str
    commerce_name: str
    operator_external_id: str | None
    operator_name: str | None
    result: ResultRow | None


_ACTIVITY_FIELDS = TaskRow._fields[: TaskRow._fields.index("commerce_external_id")]
_TASK_COLUMNS = (
    *(activities.c[name] for name in _ACTIVITY_FIELDS),
    commerces.c.external_id,
    commerces.c.name,
    operators.c.external_id,
    operators.c.name,
    *(current_results.c[name] for name in ResultRow._fields),
)
_RESULT_AT = len(TaskRow._fields) - 1


def _task_row(row: Row[Any] | Sequence[Any]) -> TaskRow:
    values = tuple(row)
    result = values[_RESULT_AT:]
    return TaskRow._make(
        (*values[:_RESULT_AT], None if result[0] is None else ResultRow._make(result))
    )


_a = activities.c
_c = commerces.c
_o = operators.c
_r = ActivityResult.__table__.c
_cur = current_results.c


def _param(name: str, column: ColumnElement[Any], *, expanding: bool = False) -> Any:
    return bindparam(name, type_=column.type, expanding=expanding)


_TENANT = _param("tenant_id", _a.tenant_id)

# Each filter is a condition on ``activities`` alone (a count needs no join), with the bound
# parameter of the same name; statements are built once per combination of filters in use.
_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "statuses": _a.status.in_(_param("statuses", _a.status, expanding=True)),
    "internal_status": _a.status == _param("internal_status", _a.status),
    "result_status": exists().where(
        _r.activity_id == _a.id,
        _r.superseded_at.is_(None),
        _r.status == _param("result_status", _r.status),
    ),
    "channel": _a.channel == _param("channel", _a.channel),
    # External ids are unique per tenant: an equality lets the planner walk the
    # (commerce_id, scheduled_at) index in page order.
    "commerce": _a.commerce_id
    == select(_c.id)
    .where(_c.tenant_id == _TENANT, _c.external_id == _param("commerce", _c.external_id))
    .scalar_subquery(),
    "operator": _a.operator_id.in_(
        select(_o.id).where(
            _o.tenant_id == _TENANT, _o.external_id == _param("operator", _o.external_id)
        )
    ),
    "scheduled_from": _a.scheduled_at >= _param("scheduled_from", _a.scheduled_at),
    "scheduled_to": _a.scheduled_at <= _param("scheduled_to", _a.scheduled_at),
    "updated_since": _a.updated_at >= _param("updated_since", _a.updated_at),
}


def _filter_params(tenant_id: uuid.UUID, filters: TaskFilters) -> dict[str, Any]:
    """The bound parameters of ``filters``: one per filter in use, named as in ``_CONDITIONS``."""
    given = {
        "statuses": None
        if filters.status is None
        else [str(s) for s in INTERNAL_STATUSES[filters.status]],
        "internal_status": filters.internal_status,
        "result_status": None if filters.result_status is None else str(filters.result_status),
        "channel": None if filters.channel is None else str(filters.channel),
        "commerce": filters.external_commerce_id,
        "operator": filters.external_operator_id,
        "scheduled_from": filters.scheduled_from,
        "scheduled_to": filters.scheduled_to,
        "updated_since": filters.updated_since,
    }
    return {"tenant_id": tenant_id} | {k: v for k, v in given.items() if v is not None}


def _task_rows(page: Subquery | None = None) -> Select[*tuple[Any, ...]]:
    """Activities with their list-item columns; only those of ``page`` (a subquery with an
    ``id`` column, joined first) when given."""
    stmt = select(*_TASK_COLUMNS)
    if page is not None:
        stmt = stmt.select_from(page).join(activities, _a.id == page.c.id)
    return (
        stmt.join(commerces, _c.id == _a.commerce_id)
        .outerjoin(operators, _o.id == _a.operator_id)
        .outerjoin(current_results, and_(_cur.activity_id == _a.id, _cur.superseded_at.is_(None)))
        .where(_a.tenant_id == _TENANT)
    )


_TASK_BY_ID = _task_rows().where(_a.id == _param("activity_id", _a.id))
_TASKS_BY_ID = _task_rows().where(_a.id.in_(_param("activity_ids", _a.id, expanding=True)))


@cache
def _count_statement(filters: frozenset[str]) -> Select[*tuple[Any, ...]]:
    conditions = [_CONDITIONS[name] for name in sorted(filters) if name in _CONDITIONS]
    return select(func.count()).select_from(activities).where(_a.tenant_id == _TENANT, *conditions)


PAGE_STATEMENTS = 2048
"""Page statements kept built: one per combination of filters, page size and kind in use."""


@lru_cache(maxsize=PAGE_STATEMENTS)
def _page_statement(
    filters: frozenset[str], limit: int, *, keyset: bool, offset: bool
) -> Select[*tuple[Any, ...]]:
    """A page ordered by ``scheduled_at`` desc, then id desc: after the cursor when ``keyset``,
    else at an offset (none at all on page 1, when not ``offset``).

    The page's ids are chosen first, on ``activities`` alone (an index walk, at any depth),
    and only those rows are joined to their commerce, operator and current result: the cost of
    the joins never grows with the offset, whatever the planner believes about the tables.

    The page size is written into the SQL as a literal (page sizes are 2..101 rows with the
    look-ahead row: at most 100 statements per filter combination). A bound ``LIMIT $n`` makes
    PostgreSQL's generic plan unusable, so it would plan every execution anew (three times
    the page's own run time); with the literal and no ``OFFSET 0``, the prepared statement of
    a pooled connection keeps its generic plan after five executions.
    """
    conditions = [_CONDITIONS[name] for name in sorted(filters) if name in _CONDITIONS]
    ids = select(_a.id, _a.scheduled_at).where(_a.tenant_id == _TENANT, *conditions)
    ids = ids.order_by(_a.scheduled_at.desc(), _a.id.desc()).limit(
        literal_column(str(int(limit)), Integer)
    )
    if keyset:
        after = tuple_(_param("after_at", _a.scheduled_at), _param("after_id", _a.id))
        ids = ids.where(tuple_(_a.scheduled_at, _a.id) < after)
    elif offset:
        ids = ids.offset(bindparam("offset", type_=Integer))
    page = ids.subquery("page")
    return _task_rows(page).order_by(page.c.scheduled_at.desc(), page.c.id.desc())


def _count_query(tenant_id: uuid.UUID, filters: TaskFilters) -> tuple[Select[Any], dict[str, Any]]:
    params = _filter_params(tenant_id, filters)
    return _count_statement(frozenset(params)), params


def _page_query(
    tenant_id: uuid.UUID, filters: TaskFilters, offset: int, limit: int, after: Cursor | None
) -> tuple[Select[Any], dict[str, Any]]:
    """A page ordered by ``scheduled_at`` desc, then id desc; keyset when ``after`` is set."""
    params = _filter_params(tenant_id, filters)
    keyset, skip = after is not None, after is None and offset > 0
    stmt = _page_statement(frozenset(params), limit, keyset=keyset, offset=skip)
    if after is not None:
        params.update(after_at=after.at, after_id=after.id)
    elif skip:
        params["offset"] = offset
    return stmt, params


class TaskReader(Protocol):
    """Where a page of tasks is read: the request's session, or a driver connection."""

    async def count_tasks(self, filters: TaskFilters) -> int: ...

    async def list_tasks(
        self, filters: TaskFilters, *, offset: int, limit: int, after: Cursor | None
    ) -> list[TaskRow]: ...


class DriverTaskReader:
    """The task list's statements on a driver connection (``kit.driver``): the same SQL as
    :class:`ActivityRepository`'s, without the session and result layers around it."""

    def __init__(self, connection: Any, dialect: Dialect, tenant_id: uuid.UUID) -> None:
        self.connection = connection
        self.dialect = dialect
        self.tenant_id = tenant_id

    async def count_tasks(self, filters: TaskFilters) -> int:
        stmt, params = _count_query(self.tenant_id, filters)
        sql, args = compiled_for(stmt, self.dialect).bind(params)
        return int(await self.connection.fetchval(sql, *args) or 0)

    async def list_tasks(
        self, filters: TaskFilters, *, offset: int, limit: int, after: Cursor | None
    ) -> list[TaskRow]:
        stmt, params = _page_query(self.tenant_id, filters, offset, limit, after)
        sql, args = compiled_for(stmt, self.dialect).bind(params)
        return [_task_row(row) for row in await self.connection.fetch(sql, *args)]


class ActivityRepository(TenantRepository):
    async def count_tasks(self, filters: TaskFilters) -> int:
        stmt, params = _count_query(self.tenant_id, filters)
        connection = await self.session.connection()
        return int((await connection.execute(stmt, params)).scalar() or 0)

    async def list_tasks(
        self, filters: TaskFilters, *, offset: int, limit: int, after: Cursor | None
    ) -> list[TaskRow]:
        stmt, params = _page_query(self.tenant_id, filters, offset, limit, after)
        # Core on the session's connection: the ORM's execution layer adds nothing to plain rows.
        connection = await self.session.connection()
        return [_task_row(row) for row in (await connection.execute(stmt, params)).all()]

    async def get_task(self, activity_id: uuid.UUID) -> TaskRow | None:
        params = {"tenant_id": self.tenant_id, "activity_id": activity_id}
        row = (await self.session.execute(_TASK_BY_ID, params)).first()
        return None if row is None else _task_row(row)

    async def get_tasks(self, activity_ids: Sequence[uuid.UUID]) -> list[TaskRow]:
        params = {"tenant_id": self.tenant_id, "activity_ids": list(activity_ids)}
        return [_task_row(row) for row in (await self.session.execute(_TASKS_BY_ID, params)).all()]

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

    async def ids_by_idempotency_key(self, keys: Sequence[str]) -> dict[str, uuid.UUID]:
        """The activities created with these keys, in a few statements (the CSV import)."""
        return await self._ids_by(activities.c.idempotency_key, keys)

    async def ids_by_provider_id(self, provider_ids: Sequence[str]) -> dict[str, uuid.UUID]:
        return await self._ids_by(activities.c.provider_activity_id, provider_ids)

    async def _ids_by(
        self, column: ColumnElement[str | None], values: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for start in range(0, len(values), LOOKUP_CHUNK):
            stmt = select(column, activities.c.id).where(
                activities.c.tenant_id == self.tenant_id,
                column.in_(values[start : start + LOOKUP_CHUNK]),
            )
            found.update({row[0]: row[1] for row in await self.session.execute(stmt)})
        return found

    async def references(
        self, commerce_ids: Sequence[uuid.UUID], operator_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[str, str]]:
        """The (external id, name) of these commerces and operators of the tenant, by id."""
        found: dict[uuid.UUID, tuple[str, str]] = {}
        for table, ids in ((commerces, commerce_ids), (operators, operator_ids)):
            for start in range(0, len(ids), LOOKUP_CHUNK):
                stmt = select(table.c.id, table.c.external_id, table.c.name).where(
                    table.c.tenant_id == self.tenant_id,
                    table.c.id.in_(ids[start : start + LOOKUP_CHUNK]),
                )
                found.update({row[0]: (row[1], row[2]) for row in await self.session.execute(stmt)})
        return found

    async def insert_tasks(
        self, tasks: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]
    ) -> None:
        """New activities, then their events, one executemany each (no ORM unit of work)."""
        for table, rows in ((table_of(Activity), tasks), (table_of(ActivityEvent), events)):
            if rows:
                await self.session.execute(
                    insert(table), [{**row, "tenant_id": self.tenant_id} for row in rows]
                )
