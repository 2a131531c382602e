"""Page metadata and opaque keyset cursors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from pydantic import Field

from taskbridge.errors import BadRequest
from taskbridge.kit.case import ResponseModel, examples
from taskbridge.kit.time import as_utc

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
"""An OFFSET of 100,000,000 rows is already slow on any backend (the task list reads deeper with
its cursor), and every offset (``MAX_PAGE * MAX_PER_PAGE``) stays within a 32-bit integer, the
type the task list binds it with: a larger page is a 400, not an overflow in the database."""
PAGE_RULE = f"1..{MAX_PAGE}; a deeper page is a 400 (the task list reads deeper with `cursor`)"

LIMIT_RULE = f"1..{MAX_PER_PAGE}; an alias of `per_page` (send either, or both with one value)"
LIMIT_CONFLICT = "is an alias of per_page: send one of them, or both with the same value"

PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE, description=PAGE_RULE)]
PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE, description=f"1..{MAX_PER_PAGE}")]
Limit = Annotated[int, Field(ge=1, le=MAX_PER_PAGE, description=LIMIT_RULE)]

ItemT = TypeVar("ItemT")

META_EXAMPLE = {"page": 1, "limit": 20, "total": 1, "totalPages": 1, "nextCursor": None}


def page_example(*items: Mapping[str, Any]) -> dict[str, Any]:
    """A page's example: ``items`` and the matching ``meta``."""
    return {"data": list(items), "meta": {**META_EXAMPLE, "total": len(items)}}


class PageMeta(ResponseModel):
    model_config = examples(META_EXAMPLE)

    page: int | None
    limit: int
    total: int
    total_pages: int
    next_cursor: str | None = None


def meta_document(
    page: int | None, limit: int, total: int, next_cursor: str | None
) -> dict[str, Any]:
    """A page's ``meta``, JSON-ready (what ``PageMeta`` dumps by alias, without building it)."""
    return {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": (total + limit - 1) // limit,
        "nextCursor": next_cursor,
    }


def page_meta(page: int | None, limit: int, total: int, next_cursor: str | None) -> PageMeta:
    return PageMeta.model_validate(meta_document(page, limit, total, next_cursor))


NOT_A_CURSOR = "is not a cursor this server issued; pass meta.nextCursor unchanged"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _check(payload: bytes) -> str:
    return _b64(hashlib.sha256(b"taskbridge-cursor:" + payload).digest()[:9])


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after the last row of a page ordered by (``at`` desc, ``id`` desc).

    The token carries a check value, so an edited or truncated cursor is a 400 rather than a
    silent jump elsewhere in the list. It is not a secret: a forged cursor can only point into
    the caller's own tenant, which every query is scoped to anyway.
    """

    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"at": self.at.isoformat(), "id": str(self.id)}, separators=(",", ":"))
        payload = raw.encode()
        return f"{_b64(payload)}.{_check(payload)}"

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            encoded, _, check = token.partition(".")
            payload = _unb64(encoded)
            if not hmac.compare_digest(check, _check(payload)):
                raise ValueError("check value mismatch")
            data = json.loads(payload)
            return cls(at=as_utc(datetime.fromisoformat(data["at"])), id=uuid.UUID(data["id"]))
        except (ValueError, KeyError, TypeError):
            raise BadRequest(NOT_A_CURSOR, field="cursor") from None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The ``page`` / ``per_page`` a client asked for."""

    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def window(self, items: Sequence[ItemT]) -> Sequence[ItemT]:
        """This page of a list that is already in memory."""
        return items[self.offset : self.offset + self.per_page]

    def meta(self, total: int) -> PageMeta:
        return page_meta(self.page, self.per_page, total, None)


def page_size(per_page: int, limit: int | None, *, per_page_given: bool) -> int:
    """``limit`` (the seed system's name for the page size) or ``per_page``; both, differing,
    are a 400 rather than a silent choice between them."""
    if limit is None:
        return per_page
    if per_page_given and per_page != limit:
        raise BadRequest(LIMIT_CONFLICT, field="limit")
    return limit


async def page_request(
    request: Request,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description=PAGE_RULE)] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description=f"1..{MAX_PER_PAGE}")
    ] = DEFAULT_PER_PAGE,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PER_PAGE, description=LIMIT_RULE)] = None,
) -> PageRequest:
    """``page`` 1..``MAX_PAGE`` and ``per_page`` (or ``limit``) 1..100: beyond either is a 400,
    never a clamp."""
    given = "per_page" in request.query_params
    return PageRequest(page=page, per_page=page_size(per_page, limit, per_page_given=given))


PageQuery = Annotated[PageRequest, Depends(page_request)]
