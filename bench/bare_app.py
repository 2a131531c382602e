"""The limit: a bare ASGI callable (no framework) returning the configs JSON from memory."""

from __future__ import annotations

import json
from typing import Any

BODY = json.dumps(
    [
        {"code": "SALE_COMPLETED", "label": "Venta completada", "requiresFutureScheduledAt": False},
        {"code": "NOT_INTERESTED", "label": "No interesado", "requiresFutureScheduledAt": False},
        {"code": "RESCHEDULE", "label": "Reprogramar visita", "requiresFutureScheduledAt": True},
        {"code": "NO_CONTACT", "label": "Sin contacto", "requiresFutureScheduledAt": False},
    ],
    ensure_ascii=False,
    separators=(",", ":"),
).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
