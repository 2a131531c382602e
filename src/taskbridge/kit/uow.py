"""One unit of work per request, committed after the endpoint returns and before the response."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import read_only_options
from taskbridge.errors import BadRequest
from taskbridge.kit.query import declared_query_names, query_refusal
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


def read_session_factory_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same pool whose statements run without ``BEGIN``/``COMMIT``
    (``db.read_only_options``): built once per application, beside ``session_factory``."""
    state = request.app.state
    factory: async_sessionmaker[AsyncSession] | None = getattr(state, "read_session_factory", None)
    if factory is None:
        writer = session_factory_of(request)
        engine = writer.kw["bind"]
        options = {name: value for name, value in writer.kw.items() if name != "bind"}
        factory = async_sessionmaker(
            engine.execution_options(**read_only_options(engine)), class_=writer.class_, **options
        )
        state.read_session_factory = factory
    return factory


def reads_only(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Marks an endpoint that only reads, and whose reads need no snapshot shared between its
    statements: its :class:`UnitOfWorkRoute` session runs each statement on its own, without the
    ``BEGIN`` and ``COMMIT`` round trips of a transaction (``db.read_only_options``). Apply it
    below the route decorator. Such an endpoint must not write: nothing would roll it back."""
    endpoint._reads_only = True  # type: ignore[attr-defined]
    return endpoint


_query_refusal: ContextVar[BadRequest | None] = ContextVar("query_refusal", default=None)
"""The 400 this request's query string earns, raised once the route's dependencies have run."""


def _refuse_bad_query() -> None:
    refusal = _query_refusal.get()
    if refusal is not None:
        raise refusal


def _after_dependencies(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint``, first raising the request's query refusal, if any.

    FastAPI resolves every dependency (authentication included) before it calls the endpoint,
    so a NUL in the query string is a 400 after the 401/403 that the contract puts first. The
    wrapper keeps the endpoint's signature (FastAPI reads it through ``__wrapped__``).
    """
    if getattr(endpoint, "_refuses_bad_query", False):
        return endpoint
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            _refuse_bad_query()
            return await endpoint(*args, **kwargs)

    else:

        @functools.wraps(endpoint)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            _refuse_bad_query()
            return endpoint(*args, **kwargs)

    guarded._refuses_bad_query = True  # type: ignore[attr-defined]
    return guarded


class UnitOfWorkRoute(APIRoute):
    """Runs the endpoint in a session, commits before the response leaves, rolls back on error.

    A failure of the commit itself propagates to the error handler, so the client never sees a
    2xx for data that was not stored. Every route of the API and the panel is one of these, so
    this is also where a query string holding NUL is refused, whatever parameter holds it, and,
    on the API, a parameter the route does not read (``kit.query.query_refusal``).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.reads_only: bool = getattr(endpoint, "_reads_only", False)
        super().__init__(path, _after_dependencies(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known_query = declared_query_names(self)
        reads_only = self.reads_only

        async def run_in_unit_of_work(request: Request) -> Response:
            request.state.received_at = utcnow()
            refusal = query_refusal(request, known_query)
            token = None if refusal is None else _query_refusal.set(refusal)
            try:
                factory = (read_session_factory_of if reads_only else session_factory_of)(request)
                async with factory() as session:
                    session.info[REQUEST_SESSION] = True
                    request.state.session = session
                    try:
                        response = await handler(request)
                        # On a read-only session no COMMIT reaches the database; the commit
                        # still runs its hooks (a refusal is a 500, an outage ends).
                        await session.commit()
                    except BaseException:
                        try:
                            await session.rollback()
                        finally:
                            await _run_rollback_hooks(session)
                        raise
                    return response
            finally:
                if token is not None:
                    _query_refusal.reset(token)

        return run_in_unit_of_work


def received_at(request: Request) -> datetime:
    """When the request reached its route, before authentication and body parsing."""
    moment: datetime = request.state.received_at
    return moment


async def request_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


SessionDep = Annotated[AsyncSession, Depends(request_session)]
