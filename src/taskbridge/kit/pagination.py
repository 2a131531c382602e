"""Page metadata and opaque keyset cursors."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from taskbridge.errors import BadRequest
from taskbridge.kit.case import ResponseModel
from taskbridge.kit.time import as_utc

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


class PageMeta(ResponseModel):
    page: int | None
    limit: int
    total: int
    total_pages: int
    next_cursor: str | None = None


def page_meta(page: int | None, limit: int, total: int, next_cursor: str | None) -> PageMeta:
    return PageMeta(
        page=page,
        limit=limit,
        total=total,
        total_pages=(total + limit - 1) // limit,
        next_cursor=next_cursor,
    )


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after the last row of a page ordered by (``at`` desc, ``id`` desc)."""

    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"at": self.at.isoformat(), "id": str(self.id)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            return cls(at=as_utc(datetime.fromisoformat(data["at"])), id=uuid.UUID(data["id"]))
        except (ValueError, KeyError, TypeError):
            raise BadRequest(
                "is not a cursor this server issued; pass meta.nextCursor unchanged", field="cursor"
            ) from None
