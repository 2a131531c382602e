"""Form plumbing: service errors shown next to their fields, local dates, page numbers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from taskbridge.errors import AppError, BadRequest, validation_failure
from taskbridge.kit.pagination import MAX_PAGE

ModelT = TypeVar("ModelT", bound=BaseModel)

FORM = "_form"
"""The key of an error that belongs to no single field."""


def field_errors(exc: AppError, rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{form field: message}`` from a service error (``details`` name the service's fields)."""
    errors: dict[str, str] = {}
    for detail in exc.extra.get("details") or []:
        field = str(detail.get("field", FORM))
        errors[(rename or {}).get(field, field)] = str(detail.get("message", exc.message))
    return errors or {FORM: exc.message}


async def discard(session: AsyncSession) -> None:
    """Undo whatever a refused action flushed before the page is shown again."""
    await session.rollback()


def parse_local(value: str, time_zone: str, field: str) -> datetime | None:
    """A ``datetime-local`` value read in the tenant's time zone; empty is None."""
    if not value.strip():
        return None
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest("must be a date and time", field=field) from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(time_zone))


def page_number(value: str | None) -> int:
    """A page typed into the address bar: junk is page 1, beyond ``MAX_PAGE`` the last one."""
    try:
        return min(max(1, int(value or 1)), MAX_PAGE)
    except ValueError:
        return 1


def checked(model: type[ModelT], **values: Any) -> ModelT:
    """The request model the REST API would build, its refusals as the API's 400."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise validation_failure([dict(e) for e in exc.errors()]) from None
