"""The submission's combined PostgreSQL statement stays in SQLAlchemy's compiled cache.

A statement SQLAlchemy cannot cache is compiled again on every request: on the result POST that
was 30 % of the server's CPU (py-spy), for a multi-row ``VALUES`` of the feed's events.
"""

from __future__ import annotations

import itertools

import pytest

from taskbridge.activities.submission_repository import _combined


@pytest.mark.parametrize(
    ("completes", "moved", "feed_rows"),
    [
        (completes, moved, rows)
        for completes, moved, rows in itertools.product([False, True], [False, True], [1, 2, 3])
        if completes or not moved
    ],
)
def test_every_shape_of_the_combined_write_is_cacheable(
    completes: bool, moved: bool, feed_rows: int
) -> None:
    assert _combined(completes, moved, feed_rows)._generate_cache_key() is not None
