"""The database limit: the result write (insert result + update activity) issued with asyncpg."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg

INSERT_RESULT = """
INSERT INTO activity_results (
    id, tenant_id, activity_id, status, code, label, commerce_external_id, occurred_at,
    source, created_at
) VALUES ($1, $2, $3, 'EFFECTIVE', 'SALE_COMPLETED', 'Venta completada', $4, $5, 'ACTIVITY', $5)
"""
UPDATE_ACTIVITY = """
UPDATE activities SET status = 'COMPLETED', occurred_at = $2, updated_at = $2 WHERE id = $1
"""


async def transaction_rate(
    url: str, tenant_id: uuid.UUID, lines: list[str], *, concurrency: int, seconds: float
) -> dict[str, float]:
    """Transactions per second and latency percentiles at ``concurrency`` connections."""
    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
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
                now = datetime.now(UTC)
                started = time.perf_counter()
                async with connection.transaction():
                    await connection.execute(
                        INSERT_RESULT,
                        uuid.uuid4(),
                        tenant_id,
                        uuid.UUID(activity_id),
                        commerce,
                        now,
                    )
                    await connection.execute(UPDATE_ACTIVITY, uuid.UUID(activity_id), now)
                latencies.append((time.perf_counter() - started) * 1000)

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - began
    await pool.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else 0.0

    return {"tps": len(latencies) / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99)}
