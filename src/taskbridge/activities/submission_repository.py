"""The statements a result submission makes on its activity, built once, without the ORM.

Result submission is the API's busiest write. Its statements are Core with bound parameters,
built at import: a request pays neither statement construction nor cache-key generation, and
neither the unit of work's flush nor a reload of what it wrote.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, insert, select, update

from taskbridge.kit.model import table_of
from taskbridge.kit.repository import TenantRepository
from taskbridge.models import Activity, ActivityEvent, Commerce, Operator


@dataclass(frozen=True, slots=True)
class LockedActivity:
    """What a result submission needs of its activity, read (and locked) in one statement.

    Its current result is not here: a statement that waited for the lock sees the activity row
    as the lock holder left it but every other table as it was when the statement began (on
    PostgreSQL, READ COMMITTED re-checks only the locked row). The current result is read by a
    statement of its own once the lock is held (``results.repository.supersede_current``).
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
_INSERT_EVENT = insert(table_of(ActivityEvent))


class SubmissionRepository(TenantRepository):
    async def lock(
        self,
        *,
        activity_id: uuid.UUID | None,
        provider_activity_id: str | None,
        commerce_external_id: str,
    ) -> LockedActivity | None:
        """The activity by id, else by provider id, locked against concurrent submissions."""
        key: uuid.UUID | str | None = activity_id
        stmt = _LOCK_BY_ID
        if activity_id is None:
            key, stmt = provider_activity_id, _LOCK_BY_PROVIDER_ID
        params = {"tenant_id": self.tenant_id, "key": key, "commerce": commerce_external_id}
        row = (await self.session.execute(stmt, params)).first()
        return None if row is None else LockedActivity(**row._mapping)

    async def touch(self, activity_id: uuid.UUID, now: datetime) -> None:
        params = {"tenant": self.tenant_id, "activity": activity_id, "now": now}
        await self.session.execute(_TOUCH, params)

    async def complete(
        self, activity_id: uuid.UUID, *, status: str, occurred_at: datetime, now: datetime
    ) -> None:
        params = {
            "tenant": self.tenant_id,
            "activity": activity_id,
            "to_status": status,
            "occurred": occurred_at,
            "now": now,
        }
        await self.session.execute(_COMPLETE, params)

    async def insert_event(self, values: dict[str, Any]) -> None:
        """One event row (``values`` names every column but the tenant)."""
        await self.session.execute(_INSERT_EVENT, {**values, "tenant_id": self.tenant_id})
