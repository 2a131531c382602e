"""A page's ``meta``: the JSON-ready document and the documented model say the same."""

from __future__ import annotations

import pytest

from taskbridge.kit.pagination import meta_document, page_meta


@pytest.mark.parametrize(
    ("page", "limit", "total", "cursor"),
    [(1, 20, 0, None), (1, 20, 20, None), (3, 7, 22, "c"), (None, 100, 1_000_000, "x")],
)
def test_the_document_is_the_model_dumped_by_alias(
    page: int | None, limit: int, total: int, cursor: str | None
) -> None:
    document = meta_document(page, limit, total, cursor)
    assert document == page_meta(page, limit, total, cursor).model_dump(by_alias=True)
    assert list(document) == ["page", "limit", "total", "totalPages", "nextCursor"]
    assert document["totalPages"] == -(-total // limit)
