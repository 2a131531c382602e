"""A submission's reads and writes on a driver connection: the result route's fast path.

The same statements as :class:`taskbridge.results.service.SessionStore` (built by the same
functions, compiled once for the driver by ``kit.driver``), sent on an ``asyncpg`` connection
inside the caller's transaction: the lock, the supersede, then every write as one statement.
Follow-ups (created by a result that requires a future date, or canceled when their result is
replaced) stay with the session: here they raise :class:`NeedsTheSession`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Dialect

from taskbridge.activities.submission_repository import (
    LockedActivity,
    SubmissionWrites,
    combined_write,
    lock_query,
)
from taskbridge.kit.driver import compiled_for
from taskbridge.models import Activity
from taskbridge.results.repository import ReplacedResult, supersede_query
from taskbridge.results.service import NeedsTheSession


class DriverStore:
    handles_follow_ups = False

    def __init__(self, connection: Any, dialect: Dialect, tenant_id: uuid.UUID) -> None:
        self.connection = connection
        self.dialect = dialect
        self.tenant_id = tenant_id

    async def lock(
        self,
        *,
        activity_id: uuid.UUID | None,
        provider_activity_id: str | None,
        commerce_external_id: str,
    ) -> LockedActivity | None:
        stmt, params = lock_query(
            self.tenant_id,
            activity_id=activity_id,
            provider_activity_id=provider_activity_id,
            commerce_external_id=commerce_external_id,
        )
        row = await self.connection.fetchrow(*self._bound(stmt, params))
        return None if row is None else LockedActivity(*row)

    async def supersede_current(
        self, activity_id: uuid.UUID, at: datetime
    ) -> ReplacedResult | None:
        stmt, params = supersede_query(self.tenant_id, activity_id, at)
        row = await self.connection.fetchrow(*self._bound(stmt, params))
        return None if row is None else ReplacedResult(*row)

    async def cancel_unstarted_follow_up(self, follow_up_id: uuid.UUID, *, actor: str) -> None:
        raise NeedsTheSession

    async def create_follow_up(
        self,
        parent: LockedActivity,
        *,
        scheduled_at: datetime,
        result_id: uuid.UUID,
        actor: str,
    ) -> Activity:
        raise NeedsTheSession

    async def locale(self) -> str:
        raise NeedsTheSession  # the fast path knows the tenant's language from its key

    async def store(self, writes: SubmissionWrites) -> None:
        stmt, params = combined_write(self.tenant_id, writes)
        await self.connection.execute(*self._bound(stmt, params))

    def _bound(self, stmt: Any, params: dict[str, Any]) -> tuple[Any, ...]:
        sql, args = compiled_for(stmt, self.dialect).bind(params)
        return (sql, *args)
