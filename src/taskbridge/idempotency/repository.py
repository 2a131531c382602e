"""Every statement about idempotency records."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.models import IdempotencyRecord


async def find(session: AsyncSession, api_key_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
    )
    return await session.scalar(stmt)


async def try_insert(session: AsyncSession, record: IdempotencyRecord) -> bool:
    """Insert in a savepoint; False when the (key, api key) pair already exists."""
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return False
    return True


async def delete_record(session: AsyncSession, record_id: uuid.UUID) -> None:
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


async def delete_older_than(session: AsyncSession, api_key_id: uuid.UUID, cutoff: datetime) -> None:
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.created_at < cutoff
        )
    )


async def store_response(
    session: AsyncSession, record_id: uuid.UUID, status: int, body: str
) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(response_status=status, response_body=body)
    )
