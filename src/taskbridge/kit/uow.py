"""One unit of work per request, committed after the endpoint returns and before the response."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

REQUEST_SESSION = "request_session"
"""``session.info`` flag marking the session whose commit decides the response."""


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
            async with session_factory_of(request)() as session:
                session.info[REQUEST_SESSION] = True
                request.state.session = session
                try:
                    response = await handler(request)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
                return response

        return run_in_unit_of_work


def request_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


SessionDep = Annotated[AsyncSession, Depends(request_session)]
