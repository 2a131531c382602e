"""Read the audit log straight from the database, and count what one action adds to it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.models import AuditEntry


async def entries(factory: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    async with session_scope(factory) as session:
        stmt = select(AuditEntry).order_by(AuditEntry.occurred_at, AuditEntry.id)
        return list(await session.scalars(stmt))


async def count(factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(factory) as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def as_text(entry: AuditEntry) -> str:
    """Everything the row holds, as one string (for "no secret anywhere in it")."""
    columns = {c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns}
    return json.dumps(columns, default=str)


async def one_entry(
    factory: async_sessionmaker[AsyncSession],
    action: str,
    act: Callable[[], Awaitable[Any]],
    *,
    secrets: tuple[str, ...] = (),
) -> AuditEntry:
    """Run ``act``; exactly one new entry, of ``action``, holding none of ``secrets``."""
    before = {e.id for e in await entries(factory)}
    await act()
    new = [e for e in await entries(factory) if e.id not in before]
    assert [e.action for e in new] == [action], [(e.action, e.changes) for e in new]
    for secret in secrets:
        assert secret not in as_text(new[0]), (secret, as_text(new[0]))
    return new[0]


async def no_entry(
    factory: async_sessionmaker[AsyncSession], act: Callable[[], Awaitable[Any]]
) -> None:
    """Run ``act`` (a refused action): the audit log is unchanged."""
    before = await count(factory)
    await act()
    assert await count(factory) == before


def target_of(entry: AuditEntry) -> tuple[str, str | None]:
    return entry.target_type, entry.target_id


def uid(value: Any) -> str:
    return str(uuid.UUID(str(value)))
