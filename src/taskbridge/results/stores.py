"""Where a result submission reads and writes, inside its caller's transaction.

:class:`SubmissionStore` runs the submission's statements (built by
``activities.submission_repository`` and ``results.repository``) through how a store sends one:
:class:`SessionStore` in the route's session, and the fast paths' stores
(``results.fast_transactions``) on a driver connection or SQLite's writer. Follow-ups (created by
a result that requires a future date, canceled when their result is replaced) are the session's
alone: any other store raises :class:`NeedsTheSession` for them.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.activities import service as activities
from taskbridge.activities.submission_repository import (
    LockedActivity,
    SubmissionWrites,
    combined_write,
    lock_query,
    separate_writes,
)
from taskbridge.models import Activity
from taskbridge.results.repository import ReplacedResult, supersede_query
from taskbridge.tenants import service as tenants


class NeedsTheSession(Exception):
    """This submission needs what only :class:`SessionStore` does (a follow-up to create or to
    cancel): the caller rolls back what it did and submits through the session instead."""


class SubmissionStore(ABC):
    """A submission's statements, over how this store sends one (:meth:`first`, :meth:`store`)."""

    handles_follow_ups = False
    """False when the follow-up methods raise :class:`NeedsTheSession`: a submission that would
    create one is refused before anything is written."""

    def __init__(self, tenant_id: uuid.UUID) -> None:
        self.tenant_id = tenant_id

    @abstractmethod
    async def first(self, stmt: Executable, params: dict[str, Any]) -> Sequence[Any] | None:
        """The first row ``stmt`` returns, if any."""

    @abstractmethod
    async def store(self, writes: SubmissionWrites) -> None:
        """Write ``writes``: the result, the activity, its status event, the feed's events."""

    async def lock(
        self,
        *,
        activity_id: uuid.UUID | None,
        provider_activity_id: str | None,
        commerce_external_id: str,
    ) -> LockedActivity | None:
        """The activity by id, else by provider id, locked against concurrent submissions."""
        row = await self.first(
            *lock_query(
                self.tenant_id,
                activity_id=activity_id,
                provider_activity_id=provider_activity_id,
                commerce_external_id=commerce_external_id,
            )
        )
        return None if row is None else LockedActivity(*row)

    async def supersede_current(
        self, activity_id: uuid.UUID, at: datetime
    ) -> ReplacedResult | None:
        """Mark the activity's current result superseded at ``at`` and return it (None if none).

        Call it with the activity locked: the statement then reads the result as the last
        submission committed it, which a read joined to the locking statement may not.
        """
        row = await self.first(*supersede_query(self.tenant_id, activity_id, at))
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
        """The tenant's language (the fast paths know it from the key)."""
        raise NeedsTheSession


class SessionStore(SubmissionStore):
    """In the request's session: the writes as one statement on PostgreSQL, one per table on
    SQLite (where a statement is no round trip); follow-ups too."""

    handles_follow_ups = True

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        super().__init__(tenant_id)
        self.session = session

    async def first(self, stmt: Executable, params: dict[str, Any]) -> Sequence[Any] | None:
        return (await self.session.execute(stmt, params)).first()

    async def store(self, writes: SubmissionWrites) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(*combined_write(self.tenant_id, writes))
            return
        for stmt, params in separate_writes(self.tenant_id, writes):
            await self.session.execute(stmt, params)

    async def cancel_unstarted_follow_up(self, follow_up_id: uuid.UUID, *, actor: str) -> None:
        await activities.cancel_unstarted_follow_up(
            self.session, self.tenant_id, follow_up_id, actor=actor
        )

    async def create_follow_up(
        self,
        parent: LockedActivity,
        *,
        scheduled_at: datetime,
        result_id: uuid.UUID,
        actor: str,
    ) -> Activity:
        return await activities.create_follow_up(
            self.session, parent, scheduled_at=scheduled_at, result_id=result_id, actor=actor
        )

    async def locale(self) -> str:
        return await tenants.locale_of(self.session, self.tenant_id)
