"""The contract's error body as the tests expect it.

Every error the application answers carries the request's id (``requestId``), different on each
request: an expected body built here equals a response's body when everything else is equal and
``requestId`` is well formed (``tests/test_request_ids.py`` proves it is the request's own id).
A body without ``requestId`` is not equal: only ``serve``'s own refusals lack one, and their tests
compare with plain dicts.
"""

from __future__ import annotations

from typing import Any

from taskbridge.errors import error_body as contract_body
from taskbridge.kit.request_id import WELL_FORMED

REQUEST_ID_KEY = "requestId"


class ErrorBody(dict[str, Any]):
    """``{statusCode, error, message, …}`` that also accepts the response's ``requestId``.

    As a subclass of ``dict`` its ``__eq__`` is tried first even on the right of ``==``, so
    ``response.json() == error_body(...)`` reads as before."""

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, dict):
            return NotImplemented
        if REQUEST_ID_KEY in self:
            return dict.__eq__(self, other)
        rest = dict(other)
        request_id = rest.pop(REQUEST_ID_KEY, None)
        return (
            isinstance(request_id, str)
            and WELL_FORMED.fullmatch(request_id) is not None
            and dict.__eq__(self, rest)
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal


def error_body(status_code: int, message: str, **extra: Any) -> ErrorBody:
    """The body :func:`taskbridge.errors.error_body` renders, plus any well-formed request id."""
    return ErrorBody(contract_body(status_code, message, **extra))


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` minus its ``requestId`` (for comparing two errors of different requests)."""
    return {key: value for key, value in body.items() if key != REQUEST_ID_KEY}
