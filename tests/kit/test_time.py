"""The one wire format of a timestamp, whatever the datetime the database handed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from taskbridge.kit.time import format_timestamp


def test_utc_naive_and_offset_datetimes_render_the_same_instant() -> None:
    instant = datetime(2026, 4, 15, 9, 0, 5, 123456, tzinfo=UTC)
    expected = "2026-04-15T09:00:05.123Z"
    assert format_timestamp(instant) == expected
    assert format_timestamp(instant.replace(tzinfo=None)) == expected, "SQLite: naive UTC"
    minus_three = timezone(timedelta(hours=-3))
    assert format_timestamp(instant.astimezone(minus_three)) == expected


def test_milliseconds_are_truncated_and_always_three_digits() -> None:
    assert format_timestamp(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
    last = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert format_timestamp(last) == "2026-12-31T23:59:59.999Z"
    assert format_timestamp(datetime(1, 1, 1)) == "0001-01-01T00:00:00.000Z"
