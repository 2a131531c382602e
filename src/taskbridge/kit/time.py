"""Time: one clock, one wire format (ISO 8601 UTC, milliseconds, ``Z``), strict parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

AWARE_RULE = "must be an ISO 8601 timestamp with a time zone (Z or +hh:mm)"


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise an aware datetime (or a naive one read back as UTC from SQLite) to UTC."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """``2026-04-15T09:00:00.000Z`` (on every response: kept cheap).

    A task item renders five of these, so a page of 100 about 500: the common cases (UTC from
    PostgreSQL, naive UTC from SQLite) are one ``isoformat`` call, without a converted copy.
    """
    zone = value.tzinfo
    if zone is UTC:
        return value.isoformat(timespec="milliseconds")[:-6] + "Z"
    if zone is None:
        return value.isoformat(timespec="milliseconds") + "Z"
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_aware(value: Any) -> datetime:
    """Parse an ISO 8601 string that carries a time zone; anything else is refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(AWARE_RULE)
        return as_utc(value)
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError(AWARE_RULE)
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(AWARE_RULE) from None
    if parsed.tzinfo is None:
        raise ValueError(AWARE_RULE)
    return as_utc(parsed)


AwareDatetime = Annotated[datetime, BeforeValidator(parse_aware)]
"""A request timestamp: must carry a time zone; normalised to UTC."""

Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]
"""A response timestamp, rendered in the contract's format."""
