"""The database limits of a result submission, issued with asyncpg straight to PostgreSQL.

Two transactions, each measured at the same concurrency:

- ``minimal``: the result inserted and the activity updated, nothing else (4 round trips with
  ``BEGIN`` and ``COMMIT``): the write alone, as the first benchmark defined it.
- ``same``: the database work a submission does today, in the fewest round trips the rules
  allow: the activity locked (with the commerce the request names), its current result
  superseded (read once the lock is held, as rule 6 needs), then the result, the activity, its
  status event and the two feed events (``result.recorded`` and ``task.completed``, with
  documents of the real size) as one statement. 5 round trips.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

INSERT_RESULT = """
INSERT INTO activity_results (
    id, tenant_id, activity_id, status, code, label, commerce_external_id, occurred_at,
    source, created_at
) VALUES ($1, $2, $3, 'EFFECTIVE', 'SALE_COMPLETED', 'Venta completada', $4, $5, 'ACTIVITY', $5)
"""
UPDATE_ACTIVITY = """
UPDATE activities SET status = 'COMPLETED', occurred_at = $2, updated_at = $2 WHERE id = $1
"""


LOCK = """
SELECT a.id, a.tenant_id, a.status, a.type, a.channel, a.reason, a.commerce_id, a.operator_id,
       a.provider_activity_id,
       (SELECT id FROM commerces WHERE tenant_id = $1 AND external_id = $3) AS named_commerce_id,
       a.origin, a.scheduled_at, a.created_at, a.last_dispatch_error, a.parent_activity_id,
       a.idempotency_key, a.dispatch_attempts, c.external_id, c.name, o.external_id, o.name
FROM activities a JOIN commerces c ON c.id = a.commerce_id
LEFT JOIN operators o ON o.id = a.operator_id
WHERE a.tenant_id = $1 AND a.id = $2
FOR UPDATE OF a
"""
SUPERSEDE = """
UPDATE activity_results SET superseded_at = $3
WHERE tenant_id = $1 AND activity_id = $2 AND superseded_at IS NULL
RETURNING id, status, follow_up_activity_id
"""
WRITES = """
WITH stored_result AS (
  INSERT INTO activity_results (
    id, tenant_id, activity_id, status, code, label, commerce_external_id, occurred_at, source,
    created_at
  ) VALUES ($1, $2, $3, 'EFFECTIVE', 'SALE_COMPLETED', 'Venta completada', $4, $5, 'ACTIVITY', $5)
), moved_activity AS (
  UPDATE activities SET status = 'COMPLETED', occurred_at = $5, updated_at = $5
  WHERE tenant_id = $2 AND id = $3
), status_event AS (
  INSERT INTO activity_events (id, tenant_id, activity_id, from_status, to_status, reason, actor,
                               created_at)
  VALUES ($6, $2, $3, 'READY', 'COMPLETED', 'result SALE_COMPLETED (EFFECTIVE)', 'key:bench', $5)
)
INSERT INTO events (tenant_id, type, subject_id, replaced, payload, created_at)
VALUES ($2, 'result.recorded', $1, false, $7::jsonb, $5),
       ($2, 'task.completed', $3, NULL, $8::jsonb, $5)
"""


def _documents(result_id: uuid.UUID, row: Any, commerce: str, now: str) -> list[str]:
    """The two feed documents, with the real documents' fields and sizes."""
    result = {
        "id": str(result_id),
        "activityId": str(row["id"]),
        "providerActivityId": row["provider_activity_id"],
        "commerceExternalId": commerce,
        "occurredAt": now,
        "status": "EFFECTIVE",
        "externalStatus": None,
        "source": "ACTIVITY",
        "taskResult": {
            "result": "SALE_COMPLETED",
            "label": "Venta completada",
            "comment": None,
            "contactType": None,
            "operatorExternalId": None,
            "futureScheduledAt": None,
            "payload": None,
        },
        "rawPayload": None,
        "followUpActivityId": None,
        "createdAt": now,
    }
    task = {
        "id": str(row["id"]),
        "activityOrigin": row["origin"],
        "type": row["type"],
        "status": "COMPLETED",
        "channel": row["channel"],
        "scheduledAt": row["scheduled_at"].isoformat(),
        "occurredAt": now,
        "createdAt": row["created_at"].isoformat(),
        "updatedAt": now,
        "lifecycleStatus": "COMPLETED",
        "lifecycleStatusLabel": "Completada",
        "lifecycleStatusDetail": None,
        "canForceRetryDispatch": False,
        "commerceExternalId": commerce,
        "commerceName": row[18],
        "operatorExternalId": row[19],
        "operatorName": row[20],
        "reason": row["reason"],
        "providerActivityId": row["provider_activity_id"],
        "parentActivityId": None,
        "result": result,
    }
    return [json.dumps(result), json.dumps(task)]


async def same_writes(
    connection: asyncpg.Connection,
    tenant_id: uuid.UUID,
    activity_id: uuid.UUID,
    commerce: str,
    occurred_at: datetime | None = None,
) -> tuple[uuid.UUID, datetime, Any]:
    """A submission's database work (``occurred_at`` defaults to now): the new result's id, the
    moment it was stored, and the locked activity's row."""
    now = datetime.now(UTC)
    occurred = occurred_at or now
    async with connection.transaction():
        row = await connection.fetchrow(LOCK, tenant_id, activity_id, commerce)
        await connection.fetch(SUPERSEDE, tenant_id, activity_id, now)
        result_id = uuid.uuid4()
        documents = _documents(result_id, row, commerce, now.isoformat())
        await connection.execute(
            WRITES, result_id, tenant_id, activity_id, commerce, occurred, uuid.uuid4(), *documents
        )
    return result_id, now, row


async def _same_writes(
    connection: asyncpg.Connection, tenant_id: uuid.UUID, activity_id: uuid.UUID, commerce: str
) -> None:
    await same_writes(connection, tenant_id, activity_id, commerce)


async def _minimal_writes(
    connection: asyncpg.Connection, tenant_id: uuid.UUID, activity_id: uuid.UUID, commerce: str
) -> None:
    now = datetime.now(UTC)
    async with connection.transaction():
        await connection.execute(INSERT_RESULT, uuid.uuid4(), tenant_id, activity_id, commerce, now)
        await connection.execute(UPDATE_ACTIVITY, activity_id, now)


async def transaction_rate(
    url: str,
    tenant_id: uuid.UUID,
    lines: list[str],
    *,
    concurrency: int,
    seconds: float,
    same: bool = True,
) -> dict[str, float]:
    """Transactions per second and latency percentiles at ``concurrency`` connections."""
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
    write = _same_writes if same else _minimal_writes
    queue = iter(lines)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        async with pool.acquire() as connection:
            while time.monotonic() < deadline:
                line = next(queue, None)
                if line is None:
                    return
                activity_id, commerce = line.split(",")
                started = time.perf_counter()
                await write(connection, tenant_id, uuid.UUID(activity_id), commerce)
                latencies.append((time.perf_counter() - started) * 1000)

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - began
    await pool.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else 0.0

    return {"tps": len(latencies) / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


SQLITE_STATEMENTS = (
    """SELECT a.id, a.tenant_id, a.status, a.type, a.channel, a.reason, a.commerce_id,
       a.operator_id, a.provider_activity_id,
       (SELECT id FROM commerces WHERE tenant_id = ?1 AND external_id = ?3),
       a.origin, a.scheduled_at, a.created_at, a.last_dispatch_error, a.parent_activity_id,
       a.idempotency_key, a.dispatch_attempts, c.external_id, c.name, o.external_id, o.name
    FROM activities a JOIN commerces c ON c.id = a.commerce_id
    LEFT JOIN operators o ON o.id = a.operator_id
    WHERE a.tenant_id = ?1 AND a.id = ?2""",
    """UPDATE activity_results SET superseded_at = ?3
    WHERE tenant_id = ?1 AND activity_id = ?2 AND superseded_at IS NULL
    RETURNING id, status, follow_up_activity_id""",
)
SQLITE_RESULT = """INSERT INTO activity_results (
    id, tenant_id, activity_id, status, code, label, commerce_external_id, occurred_at, source,
    created_at
) VALUES (?, ?, ?, 'EFFECTIVE', 'SALE_COMPLETED', 'Venta completada', ?, ?, 'ACTIVITY', ?)"""
SQLITE_ACTIVITY = """UPDATE activities SET status = 'COMPLETED', occurred_at = ?, updated_at = ?
WHERE tenant_id = ? AND id = ?"""
SQLITE_STATUS_EVENT = """INSERT INTO activity_events (
    id, tenant_id, activity_id, from_status, to_status, reason, actor, created_at
) VALUES (?, ?, ?, 'READY', 'COMPLETED', 'result SALE_COMPLETED (EFFECTIVE)', 'key:bench', ?)"""
SQLITE_EVENTS = """INSERT INTO events (tenant_id, txid, type, subject_id, replaced, payload,
created_at) VALUES (?, 0, ?, ?, ?, ?, ?)"""


def _sqlite_loop(path: str, tenant_id: uuid.UUID, lines: list[str], seconds: float) -> list[float]:
    """One connection writing back to back, with taskbridge's pragmas and statements."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("busy_timeout=5000", "journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    tenant = tenant_id.hex
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    try:
        for line in lines:
            if time.monotonic() >= deadline:
                break
            activity_id, commerce = line.split(",")
            activity = uuid.UUID(activity_id).hex
            started = time.perf_counter()
            now = datetime.now(UTC)
            stamp = now.replace(tzinfo=None).isoformat(sep=" ")
            connection.execute("BEGIN IMMEDIATE")
            lock, supersede = SQLITE_STATEMENTS
            row = connection.execute(lock, (tenant, activity, commerce)).fetchone()
            connection.execute(supersede, (tenant, activity, stamp)).fetchall()
            result_id = uuid.uuid4()
            connection.execute(
                SQLITE_RESULT, (result_id.hex, tenant, activity, commerce, stamp, stamp)
            )
            connection.execute(SQLITE_ACTIVITY, (stamp, stamp, tenant, activity))
            connection.execute(SQLITE_STATUS_EVENT, (uuid.uuid4().hex, tenant, activity, stamp))
            named = {
                "id": uuid.UUID(row[0]), "provider_activity_id": row[8], "origin": row[10],
                "type": row[3], "channel": row[4], "reason": row[5],
                "scheduled_at": datetime.fromisoformat(row[11]),
                "created_at": datetime.fromisoformat(row[12]),
            }  # fmt: skip
            result_doc, task_doc = _documents(result_id, _Named(named, row), commerce, stamp)
            connection.executemany(
                SQLITE_EVENTS,
                [
                    (tenant, "result.recorded", result_id.hex, False, result_doc, stamp),
                    (tenant, "task.completed", activity, None, task_doc, stamp),
                ],
            )
            connection.execute("COMMIT")
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return latencies


class _Named(dict[Any, Any]):
    """A sqlite3 row addressed like an asyncpg record: by name or by position."""

    def __init__(self, named: dict[str, Any], row: tuple[Any, ...]) -> None:
        super().__init__(named)
        self.row = row

    def __getitem__(self, key: Any) -> Any:
        return self.row[key] if isinstance(key, int) else super().__getitem__(key)


async def sqlite_rate(
    path: str, tenant_id: uuid.UUID, lines: list[str], *, seconds: float
) -> dict[str, float]:
    """The SQLite limit: ``sqlite3`` in a thread, one writer (SQLite has one), same statements
    as taskbridge's SQLite path, durable commits (WAL, ``synchronous=FULL``)."""
    began = time.monotonic()
    latencies = await asyncio.to_thread(_sqlite_loop, path, tenant_id, lines, seconds)
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else 0.0

    return {"tps": len(latencies) / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99)}
