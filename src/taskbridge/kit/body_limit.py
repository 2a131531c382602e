"""Refuse request bodies above the configured size with the contract's 413.

FastAPI's own ``max_body_size`` answers a declared over-limit ``Content-Length`` with Starlette's
plain 413, not the contract's error body, so the limit is kept here.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskbridge.errors import PayloadTooLarge, error_response

TOO_LARGE = "Request body too large"


class BodySizeLimit:
    """Checks ``Content-Length`` up front and counts streamed bytes for chunked bodies."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(TOO_LARGE)
            return message

        await self.app(scope, counting_receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        """The contract's 413, rendered as every other error is; the connection is closed, as
        the unread body would otherwise be taken for the next request."""
        response = error_response(413, TOO_LARGE)
        response.headers["connection"] = "close"
        await response(scope, receive, send)
