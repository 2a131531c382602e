"""The result POST's limit: a bare ASGI callable and a raw asyncpg pool.

No framework, no ORM, no session, no validation beyond reading the JSON: each
``POST /api/integration/activity-results/tasks`` does a submission's database work in the fewest
round trips its rules allow (``db_limit.same_writes``: the lock, the supersede, then every write
as one statement) and answers the result document taskbridge answers, which ``bench.run``
compares (all but the new result's id and timestamps) before it measures.

Configured by the environment: ``BARE_POST_DSN`` (asyncpg DSN), ``BARE_POST_TENANT`` (tenant id),
``BARE_POST_POOL`` (connections, default 10 like taskbridge's ``db_pool_size``).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from pydantic_core import to_json

from bench.db_limit import same_writes

HEADERS = [(b"content-type", b"application/json")]


def _ts(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"  # aware UTC


def _document(
    result_id: uuid.UUID, body: dict[str, Any], row: Any, created_at: datetime
) -> dict[str, Any]:
    task_result = body["task_result"]
    return {
        "id": str(result_id),
        "activityId": body["activity_id"],
        "providerActivityId": row["provider_activity_id"],
        "commerceExternalId": body["commerce_external_id"],
        "occurredAt": _ts(datetime.fromisoformat(body["occurred_at"])),
        "status": body["status"],
        "externalStatus": None,
        "source": "ACTIVITY",
        "taskResult": {
            "result": task_result["result"],
            "label": "Venta completada",
            "comment": None,
            "contactType": None,
            "operatorExternalId": None,
            "futureScheduledAt": None,
            "payload": None,
        },
        "rawPayload": None,
        "followUpActivityId": None,
        "createdAt": _ts(created_at),
    }


class App:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.tenant = uuid.UUID(os.environ["BARE_POST_TENANT"])

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                size = int(os.environ.get("BARE_POST_POOL", "10"))
                self.pool = await asyncpg.create_pool(
                    os.environ["BARE_POST_DSN"], min_size=size, max_size=size
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = json.loads(b"".join(chunks))
        assert self.pool is not None
        occurred = datetime.fromisoformat(body["occurred_at"])
        async with self.pool.acquire() as connection:
            result_id, created_at, row = await same_writes(
                connection,
                self.tenant,
                uuid.UUID(body["activity_id"]),
                body["commerce_external_id"],
                occurred,
            )
        rendered = to_json(_document(result_id, body, row, created_at))
        await send({"type": "http.response.start", "status": 201, "headers": HEADERS})
        await send({"type": "http.response.body", "body": rendered})


app = App()
