"""The task list's fast path: a page of tasks read on a driver connection, before FastAPI.

``GET /api/integration/activities/tasks`` is the busiest read of the API. On PostgreSQL,
:class:`TaskPageFastPath` answers it when the key is fresh in the process cache and holds
``VIEW_ACTIVITIES``, and the query is one the route would accept: it is validated by the route's
own model (:class:`TaskQuery`), the page and its total are read by the route's own function
(``activities.service.read_task_page``) with the route's statements, compiled once for the driver
(``kit.driver``), and rendered by the route's presenter. What it leaves out is the machinery
around them: routing, dependency resolution, the session and SQLAlchemy's execution and result
layers, which together cost more CPU than the page's own work.

Anything else goes on to the route, which answers it as it always has: another database, a key
not in the cache, a query the route refuses (400), and a read that fails on the driver connection
(the connection is discarded; the route then meets the database itself and answers a 503 if it
is away). A fast path that never answers is always correct; the tests compare its answers with
the route's byte for byte.
"""

from __future__ import annotations

import uuid
from functools import partial

import structlog
from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from taskbridge.activities.presenters import task_page_document
from taskbridge.activities.repository import DriverTaskReader
from taskbridge.activities.schemas import TaskFilters
from taskbridge.activities.service import read_task_page
from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.errors import AppError, pool_exhausted
from taskbridge.integration.fast_path import (
    cached_caller,
    enforced,
    json_reply,
    rate_limited,
    send_reply,
)
from taskbridge.integration.schemas import TaskQuery
from taskbridge.kit.cache import LargeCountCache, TtlCache
from taskbridge.kit.driver import DRIVER_DIALECTS, driver_connection
from taskbridge.kit.metrics import ROUTE_TEMPLATE
from taskbridge.kit.outage import database_trouble
from taskbridge.kit.pagination import Cursor
from taskbridge.kit.rate_limit import RateLimits
from taskbridge.kit.text import NUL

TASKS_PATH = "/api/integration/activities/tasks"
QUERY_NAMES = frozenset(TaskQuery.model_fields)

log = structlog.get_logger(__name__)


def route_query(query_string: bytes) -> tuple[TaskQuery, Cursor | None] | None:
    """The query as the route reads it (``kit.query.QueryModel``: Starlette's parsing, the last
    of a repeated name) with its decoded cursor, or None when the route would refuse it (400)."""
    params = dict(QueryParams(query_string))
    if not params.keys() <= QUERY_NAMES or any(NUL in k or NUL in v for k, v in params.items()):
        return None
    try:
        query = TaskQuery.model_validate(params)
        return query, Cursor.decode(query.cursor) if query.cursor else None
    except (ValidationError, AppError):
        return None


class TaskPageFastPath:
    """Answers a task-list ``GET`` on the driver connection when the route would answer 200."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: AsyncEngine,
        keys: TtlCache[str, ApiKeyPrincipal | None],
        counts: LargeCountCache[tuple[uuid.UUID, TaskFilters]],
        limits: RateLimits | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.keys = keys
        self.counts = counts
        self.limits = enforced(limits)
        self.enabled = engine.dialect.name in DRIVER_DIALECTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.enabled
            and scope["type"] == "http"
            and scope["path"] == TASKS_PATH
            and scope["method"] == "GET"
        ):
            answer = await self._answer(scope)
            if answer is not None:
                scope[ROUTE_TEMPLATE] = TASKS_PATH  # counted as the route's answers are
                if isinstance(answer, Response):
                    await answer(scope, receive, send)
                else:
                    await send_reply(send, json_reply(200, answer))
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | Response | None:
        """The page's body, a refusal (429, or 503 when no connection came free), or None for
        the route to answer."""
        caller = cached_caller(scope["headers"], self.keys, Permission.VIEW_ACTIVITIES)
        read = route_query(scope["query_string"])
        if caller is None or read is None:
            return None
        key = caller[1]
        refused = await rate_limited(self.limits, key)
        if refused is not None:
            return refused
        try:
            return await self._page(key, *read)
        except PoolTimeout:
            return pool_exhausted(TASKS_PATH)  # the route would wait as long again
        except Exception as exc:
            if database_trouble(exc) is None:
                log.warning("fast_path_fell_back", path=TASKS_PATH, exc_info=exc)
            return None

    async def _page(self, key: ApiKeyPrincipal, query: TaskQuery, after: Cursor | None) -> bytes:
        tenant_id, filters = key.tenant_id, query.filters()
        async with driver_connection(self.engine) as connection:
            found = await read_task_page(
                DriverTaskReader(connection, self.engine.dialect, tenant_id),
                tenant_id,
                filters,
                page=query.page,
                per_page=query.per_page,
                after=after,
                counts=self.counts,
                recount=partial(self._recount, tenant_id, filters),
            )
        document = task_page_document(
            found.rows,
            page=None if query.cursor else query.page,
            per_page=query.per_page,
            total=found.total,
            next_cursor=found.next_cursor,
            locale=key.tenant.locale,
        )
        return to_json(document)

    async def _recount(self, tenant_id: uuid.UUID, filters: TaskFilters) -> int:
        """A large total counted again in the background, on a connection of its own."""
        async with driver_connection(self.engine) as connection:
            reader = DriverTaskReader(connection, self.engine.dialect, tenant_id)
            return await reader.count_tasks(filters)
