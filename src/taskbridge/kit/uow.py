"""One unit of work per request, committed after the endpoint returns and before the response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.kit.time import utcnow

REQUEST_SESSION = "request_session"
"""``session.info`` flag marking the session whose commit decides the response."""

ROLLBACK_HOOKS = "rollback_hooks"

log = structlog.get_logger(__name__)


def on_rollback(session: AsyncSession, hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook`` if this request's unit of work does not commit (a failed commit included).

    For work done outside the transaction that must be undone when it is lost, such as an
    idempotency reservation committed on its own.
    """
    session.info.setdefault(ROLLBACK_HOOKS, []).append(hook)


async def _run_rollback_hooks(session: AsyncSession) -> None:
    hooks: list[Callable[[], Awaitable[None]]] = session.info.pop(ROLLBACK_HOOKS, [])
    for hook in hooks:
        try:
            await hook()
        except Exception:  # the request's own error is the one the client must see
            log.exception("rollback_hook_failed", hook=getattr(hook, "__qualname__", repr(hook)))


def session_factory_of(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    return factory


class UnitOfWorkRoute(APIRoute):
    """Runs the endpoint in a session, commits before the response leaves, rolls back on error.

    A failure of the commit itself propagates to the error handler, so the client never sees a
    2xx for data that was not stored.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_unit_of_work(request: Request) -> Response:
            request.state.received_at = utcnow()
            async with session_factory_of(request)() as session:
                session.info[REQUEST_SESSION] = True
                request.state.session = session
                try:
                    response = await handler(request)
                    await session.commit()
                except BaseException:
                    try:
                        await session.rollback()
                    finally:
                        await _run_rollback_hooks(session)
                    raise
                return response

        return run_in_unit_of_work


def received_at(request: Request) -> datetime:
    """When the request reached its route, before authentication and body parsing."""
    moment: datetime = request.state.received_at
    return moment


async def request_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


SessionDep = Annotated[AsyncSession, Depends(request_session)]
