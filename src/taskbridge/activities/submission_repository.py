"""The statements a result submission makes, built once, without the ORM.

Result submission is the API's busiest write. Its statements are Core with bound parameters,
built once: a request pays neither statement construction nor cache-key generation, and
neither the unit of work's flush nor a reload of what it wrote.

After the lock and the supersede (which decide whether it may go on), a submission writes its
result, its activity (touched, or COMPLETED), the activity's status event when it moved, and
its feed events. On PostgreSQL those are one statement (data-modifying CTEs): one round trip
instead of four. SQLite runs in-process, where a statement costs no round trip, so there they
stay separate statements. Both write the same rows (the result submission suite runs on both).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Insert,
    Select,
    Table,
    and_,
    bindparam,
    insert,
    literal_column,
    select,
    union_all,
    update,
)

from taskbridge.kit.model import table_of
from taskbridge.models import Activity, ActivityEvent, ActivityResult, Commerce, Event, Operator


@dataclass(frozen=True, slots=True)
class LockedActivity:
    """What a result submission needs of its activity, read (and locked) in one statement.

    Its current result is not here: a statement that waited for the lock sees the activity row
    as the lock holder left it but every other table as it was when the statement began (on
    PostgreSQL, READ COMMITTED re-checks only the locked row). The current result is read by a
    statement of its own once the lock is held (``SubmissionStore.supersede_current`` in
    ``results.stores``).
    """

    id: uuid.UUID
    tenant_id: uuid.UUID
    status: str
    type: str
    channel: str
    reason: str
    commerce_id: uuid.UUID
    operator_id: uuid.UUID | None
    provider_activity_id: str | None
    named_commerce_id: uuid.UUID | None
    """The id of the commerce the submission names, in this tenant (None when it has none)."""
    # What the task's document shows besides (``task.completed``, ``follow_up.created``): read
    # with the lock, so that the submission's events cost no statement of their own.
    origin: str
    scheduled_at: datetime
    created_at: datetime
    last_dispatch_error: str | None
    parent_activity_id: uuid.UUID | None
    idempotency_key: str
    dispatch_attempts: int
    commerce_external_id: str
    commerce_name: str
    operator_external_id: str | None
    operator_name: str | None


_activities = table_of(Activity)
_commerces = table_of(Commerce)
_operators = table_of(Operator)
_NAMED_COMMERCE = "named_commerce_id"
_JOINED = {
    "commerce_external_id": _commerces.c.external_id,
    "commerce_name": _commerces.c.name,
    "operator_external_id": _operators.c.external_id,
    "operator_name": _operators.c.name,
}


def _lock_by(key: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    named_commerce = (
        select(_commerces.c.id)
        .where(
            _commerces.c.tenant_id == bindparam("tenant_id"),
            _commerces.c.external_id == bindparam("commerce"),
        )
        .scalar_subquery()
    )
    a = _activities.c
    # The columns are LockedActivity's fields, by name: the row maps onto it whatever the order.
    joined = {**_JOINED, _NAMED_COMMERCE: named_commerce}
    columns = [
        joined[f.name].label(f.name) if f.name in joined else a[f.name]
        for f in fields(LockedActivity)
    ]
    return (
        select(*columns)
        .select_from(_activities)
        .join(_commerces, _commerces.c.id == a.commerce_id)
        .outerjoin(_operators, _operators.c.id == a.operator_id)
        .where(a.tenant_id == bindparam("tenant_id"), key)
        .with_for_update(of=_activities)
    )


_LOCK_BY_ID = _lock_by(_activities.c.id == bindparam("key"))
_LOCK_BY_PROVIDER_ID = _lock_by(_activities.c.provider_activity_id == bindparam("key"))
# An UPDATE's own parameters may not be named after its columns.
_THIS_ACTIVITY = and_(
    _activities.c.tenant_id == bindparam("tenant"), _activities.c.id == bindparam("activity")
)
_TOUCH = update(_activities).where(_THIS_ACTIVITY).values(updated_at=bindparam("now"))
_COMPLETE = (
    update(_activities)
    .where(_THIS_ACTIVITY)
    .values(
        status=bindparam("to_status"),
        occurred_at=bindparam("occurred"),
        updated_at=bindparam("now"),
    )
)
_activity_events = table_of(ActivityEvent)
_results = table_of(ActivityResult)
_feed = table_of(Event)
_INSERT_RESULT = insert(_results)
_INSERT_STATUS_EVENT = insert(_activity_events)
_INSERT_FEED = insert(_feed)
_FEED_COLUMNS = ("type", "subject_id", "replaced", "payload", "created_at")
"""What a feed event row carries besides its tenant (``id`` and ``txid`` are the database's)."""


@dataclass(frozen=True, slots=True)
class SubmissionWrites:
    """Everything a submission writes once it may go on, decided before any of it is sent."""

    result: dict[str, Any]
    """The result row: every column but the tenant."""
    activity_id: uuid.UUID
    completes: bool
    """COMPLETED at ``occurred_at``; otherwise only ``updated_at`` moves."""
    occurred_at: datetime
    now: datetime
    status_event: dict[str, Any] | None
    """The activity's status event (every column), when it moved."""
    feed: Sequence[dict[str, Any]]
    """The feed's rows (:data:`_FEED_COLUMNS`), in order."""


def _bound(table: Table, prefix: str, names: Sequence[str]) -> dict[str, Any]:
    """``table``'s columns ``names`` bound to parameters named ``prefix`` + column."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


@functools.cache
def _combined(completes: bool, moved: bool, feed_rows: int) -> Insert:
    """The writes of :class:`SubmissionWrites` as one PostgreSQL statement, one per shape."""
    result = insert(_results).values(_bound(_results, "r_", [c.name for c in _results.c]))
    activity = update(_activities).where(
        _activities.c.tenant_id == bindparam("tenant"),
        _activities.c.id == bindparam("activity"),
    )
    if completes:
        activity = activity.values(
            status=bindparam("to_status"),
            occurred_at=bindparam("occurred"),
            updated_at=bindparam("now"),
        )
    else:
        activity = activity.values(updated_at=bindparam("now"))
    ctes = [result.cte("stored_result"), activity.cte("moved_activity")]
    if moved:
        columns = [c.name for c in _activity_events.c]
        status_event = insert(_activity_events).values(_bound(_activity_events, "s_", columns))
        ctes.append(status_event.cte("status_event"))
    # INSERT … SELECT from one row per event, in order: SQLAlchemy caches the compiled form
    # of this (not of a multi-row VALUES), and the ids follow the ORDER BY (the feed's order).
    columns = ["tenant_id", *_FEED_COLUMNS]
    tenant = bindparam("tenant", type_=_feed.c.tenant_id.type)
    rows = []
    for i in range(feed_rows):
        bound = {"tenant_id": tenant, **_bound(_feed, f"e{i}_", _FEED_COLUMNS)}
        rows.append(
            select(literal_column(str(i)).label("ord"), *(bound[c].label(c) for c in columns))
        )
    new = (
        union_all(*rows).subquery("new_events") if feed_rows > 1 else rows[0].subquery("new_events")
    )
    in_order = select(*(new.c[c] for c in columns)).order_by(new.c.ord)
    return insert(_feed).from_select(columns, in_order).add_cte(*ctes)


def _combined_params(tenant_id: uuid.UUID, writes: SubmissionWrites) -> dict[str, Any]:
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "activity": writes.activity_id,
        "now": writes.now,
        **{f"r_{name}": value for name, value in writes.result.items()},
        "r_tenant_id": tenant_id,
    }
    if writes.completes:
        params |= {"to_status": "COMPLETED", "occurred": writes.occurred_at}
    if writes.status_event is not None:
        params |= {f"s_{name}": value for name, value in writes.status_event.items()}
        params["s_tenant_id"] = tenant_id
    for i, row in enumerate(writes.feed):
        params |= {f"e{i}_{name}": row[name] for name in _FEED_COLUMNS}
    return params


def lock_query(
    tenant_id: uuid.UUID,
    *,
    activity_id: uuid.UUID | None,
    provider_activity_id: str | None,
    commerce_external_id: str,
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement locking the activity by id, else by provider id, with its parameters; its
    columns are :class:`LockedActivity`'s fields, in order."""
    key: uuid.UUID | str | None = activity_id
    stmt = _LOCK_BY_ID
    if activity_id is None:
        key, stmt = provider_activity_id, _LOCK_BY_PROVIDER_ID
    return stmt, {"tenant_id": tenant_id, "key": key, "commerce": commerce_external_id}


def combined_write(tenant_id: uuid.UUID, writes: SubmissionWrites) -> tuple[Insert, dict[str, Any]]:
    """``writes`` as one PostgreSQL statement, with its parameters."""
    stmt = _combined(writes.completes, writes.status_event is not None, len(writes.feed))
    return stmt, _combined_params(tenant_id, writes)


def separate_writes(tenant_id: uuid.UUID, writes: SubmissionWrites) -> list[tuple[Executable, Any]]:
    """``writes`` as one statement per table (SQLite, where a statement is no round trip), with
    their parameters; the feed's rows as one executemany."""
    activity = {"tenant": tenant_id, "activity": writes.activity_id, "now": writes.now}
    if writes.completes:
        moved = (_COMPLETE, activity | {"to_status": "COMPLETED", "occurred": writes.occurred_at})
    else:
        moved = (_TOUCH, activity)
    statements: list[tuple[Executable, Any]] = [
        (_INSERT_RESULT, {**writes.result, "tenant_id": tenant_id}),
        moved,
    ]
    if writes.status_event is not None:
        statements.append((_INSERT_STATUS_EVENT, {**writes.status_event, "tenant_id": tenant_id}))
    statements.append((_INSERT_FEED, [{**row, "tenant_id": tenant_id} for row in writes.feed]))
    return statements
