"""Reserve a key before the work, store the first response with the work, replay it after.

The reservation commits on its own, so a second request with the same key sees it at once: a
finished one is replayed, a running one is a 409, a different body is a 422. The response is
stored in the same transaction as the work it describes, so a replay never describes work that
was rolled back. A reservation whose request died without an answer is taken over after
``ABANDONED_AFTER``. Only successes are kept: a request that failed changed nothing, so its
key is released and a retry is judged afresh (a 404 for a task not yet synced must not stick).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.errors import BadRequest, Conflict, UnprocessableEntity
from taskbridge.idempotency import repository
from taskbridge.kit.time import utcnow
from taskbridge.models import IdempotencyRecord

RETENTION = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: str


@dataclass(frozen=True, slots=True)
class Reservation:
    record_id: uuid.UUID


def request_fingerprint(raw_body: bytes) -> str:
    """The same JSON document hashes the same whatever its key order or spacing."""
    try:
        canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode()
    except ValueError:
        data = raw_body
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(
            f"must be 1 to {MAX_KEY_LENGTH} printable characters", field="Idempotency-Key"
        )
    return key


def _outcome(record: IdempotencyRecord, fingerprint: str) -> Replay:
    if record.request_hash != fingerprint:
        raise UnprocessableEntity("Idempotency-Key was already used with a different request body")
    if record.response_status is None or record.response_body is None:
        raise Conflict("A request with this Idempotency-Key is still being processed")
    return Replay(status_code=record.response_status, body=record.response_body)


async def reserve(
    factory: async_sessionmaker[AsyncSession],
    *,
    tenant_id: uuid.UUID,
    api_key_id: uuid.UUID,
    key: str,
    fingerprint: str,
) -> Reservation | Replay:
    """Claim ``key`` for this request (own transaction), or the earlier outcome to replay."""
    now = utcnow()
    async with session_scope(factory) as session:
        await repository.delete_older_than(session, api_key_id, now - RETENTION)
        existing = await repository.find(session, api_key_id, key)
        is_abandoned = (
            existing is not None
            and existing.response_status is None
            and now - existing.created_at > ABANDONED_AFTER
        )
        if existing is not None and is_abandoned:
            await repository.delete_record(session, existing.id)
            existing = None
        if existing is not None:
            return _outcome(existing, fingerprint)
        record = IdempotencyRecord(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            api_key_id=api_key_id,
            key=key,
            request_hash=fingerprint,
            created_at=now,
        )
        if await repository.try_insert(session, record):
            return Reservation(record_id=record.id)
        raced = await repository.find(session, api_key_id, key)
        assert raced is not None
        return _outcome(raced, fingerprint)


async def complete(session: AsyncSession, reservation: Reservation, status: int, body: str) -> None:
    """Store the response in the caller's transaction, beside the work it reports."""
    await repository.store_response(session, reservation.record_id, status, body)


async def release(factory: async_sessionmaker[AsyncSession], reservation: Reservation) -> None:
    """After a request that stored nothing: free the key so a retry is evaluated afresh."""
    async with session_scope(factory) as session:
        await repository.delete_record(session, reservation.record_id)
