"""The task page's limit: a bare ASGI callable and a raw asyncpg pool, one statement per page.

No framework, no ORM, no session: the page of ``GET /api/integration/activities/tasks``
(``per_page`` and ``cursor`` only) is read with ONE statement whose page size is a literal (so
PostgreSQL keeps a generic plan for it) and rendered to the bytes taskbridge sends, which
``bench.run`` checks before it measures. The tenant's ``meta.total`` is counted once at start-up,
as a cached total would be: the limit does the page's database work and nothing else.

Configured by the environment: ``BARE_PAGE_DSN`` (asyncpg DSN), ``BARE_PAGE_TENANT`` (tenant id),
``BARE_PAGE_POOL`` (connections, default 10 like taskbridge's ``db_pool_size``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import asyncpg  # type: ignore[import-untyped]
from pydantic_core import to_json

from taskbridge.activities.status import STATUS_VIEWS

COLUMNS = """a.id, a.origin, a.type, a.status, a.channel, a.scheduled_at, a.occurred_at,
a.created_at, a.updated_at, a.last_dispatch_error, a.provider_activity_id, a.reason,
a.parent_activity_id, c.external_id, c.name, o.external_id, o.name,
r.id, r.activity_id, r.provider_activity_id, r.commerce_external_id, r.occurred_at, r.status,
r.external_status, r.source, r.code, r.label, r.comment, r.contact_type, r.operator_external_id,
r.future_scheduled_at, r.payload, r.raw_payload, r.follow_up_activity_id, r.created_at"""
PAGE = """SELECT {columns} FROM (
  SELECT id, scheduled_at FROM activities WHERE tenant_id = $1 {after}
  ORDER BY scheduled_at DESC, id DESC LIMIT {limit}
) AS page
JOIN activities a ON a.id = page.id
JOIN commerces c ON c.id = a.commerce_id
LEFT JOIN operators o ON o.id = a.operator_id
LEFT JOIN activity_results r ON r.activity_id = a.id AND r.superseded_at IS NULL
ORDER BY page.scheduled_at DESC, page.id DESC"""
AFTER = "AND (scheduled_at, id) < ($2, $3)"
HEADERS = [(b"content-type", b"application/json")]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _check(payload: bytes) -> str:
    return _b64(hashlib.sha256(b"taskbridge-cursor:" + payload).digest()[:9])


def _encode_cursor(at: datetime, id_: uuid.UUID) -> str:
    payload = json.dumps({"at": at.isoformat(), "id": str(id_)}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_check(payload)}"


def _decode_cursor(token: str) -> tuple[datetime, uuid.UUID]:
    encoded, _, check = token.partition(".")
    payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    if check != _check(payload):
        raise ValueError("not a cursor")
    data = json.loads(payload)
    return datetime.fromisoformat(data["at"]), uuid.UUID(data["id"])


def _ts(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"  # asyncpg's are aware UTC


def _result(r: Any) -> dict[str, Any] | None:
    if r[17] is None:
        return None
    return {
        "id": str(r[17]),
        "activityId": str(r[18]),
        "providerActivityId": r[19],
        "commerceExternalId": r[20],
        "occurredAt": _ts(r[21]),
        "status": r[22],
        "externalStatus": r[23],
        "source": r[24],
        "taskResult": {
            "result": r[25],
            "label": r[26],
            "comment": r[27],
            "contactType": r[28],
            "operatorExternalId": r[29],
            "futureScheduledAt": None if r[30] is None else _ts(r[30]),
            "payload": r[31],
        },
        "rawPayload": r[32],
        "followUpActivityId": None if r[33] is None else str(r[33]),
        "createdAt": _ts(r[34]),
    }


def _task(r: Any, locale: str) -> dict[str, Any]:
    view = STATUS_VIEWS[r[3]]
    failed = r[3] == "FAILED"
    return {
        "id": str(r[0]),
        "activityOrigin": r[1],
        "type": r[2],
        "status": view.status.value,
        "channel": r[4],
        "scheduledAt": _ts(r[5]),
        "occurredAt": None if r[6] is None else _ts(r[6]),
        "createdAt": _ts(r[7]),
        "updatedAt": _ts(r[8]),
        "lifecycleStatus": view.lifecycle,
        "lifecycleStatusLabel": view.labels.get(locale, view.labels["es"]),
        "lifecycleStatusDetail": r[9] if failed else None,
        "canForceRetryDispatch": failed,
        "commerceExternalId": r[13],
        "commerceName": r[14],
        "operatorExternalId": r[15],
        "operatorName": r[16],
        "providerActivityId": r[10],
        "reason": r[11],
        "parentActivityId": None if r[12] is None else str(r[12]),
        "result": _result(r),
    }


async def _no_reset(connection: asyncpg.Connection) -> None:
    """No reset statement when a connection returns to the pool (asyncpg's default sends one
    per release; SQLAlchemy's pool sends none for a connection without a transaction)."""


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class BarePage:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.tenant = uuid.UUID(os.environ.get("BARE_PAGE_TENANT", str(uuid.UUID(int=0))))
        self.total = 0
        self.locale = "es"

    async def _start(self) -> None:
        dsn = os.environ["BARE_PAGE_DSN"]
        size = int(os.environ.get("BARE_PAGE_POOL", "10"))
        self.pool = await asyncpg.create_pool(
            dsn, min_size=size, max_size=size, init=_json_codecs, reset=_no_reset
        )
        self.total = await self.pool.fetchval(
            "SELECT count(*) FROM activities WHERE tenant_id = $1", self.tenant
        )
        self.locale = await self.pool.fetchval(
            "SELECT locale FROM tenants WHERE id = $1", self.tenant
        )

    async def _page(self, query: dict[str, str]) -> bytes:
        assert self.pool is not None
        per_page = int(query.get("per_page", "20"))
        token = query.get("cursor")
        if token:
            at, after_id = _decode_cursor(token)
            sql = PAGE.format(columns=COLUMNS, after=AFTER, limit=per_page + 1)
            rows = await self.pool.fetch(sql, self.tenant, at, after_id)
        else:
            sql = PAGE.format(columns=COLUMNS, after="", limit=per_page + 1)
            rows = await self.pool.fetch(sql, self.tenant)
        next_cursor = None
        if len(rows) > per_page:
            rows = rows[:per_page]
            next_cursor = _encode_cursor(rows[-1][5], rows[-1][0])
        total = self.total
        meta = {
            "page": None if token else 1,
            "limit": per_page,
            "total": total,
            "totalPages": (total + per_page - 1) // per_page,
            "nextCursor": next_cursor,
        }
        return to_json({"data": [_task(r, self.locale) for r in rows], "meta": meta})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self._start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        query = dict(parse_qsl(scope["query_string"].decode()))
        body = await self._page(query)
        headers = [*HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


app = BarePage()
