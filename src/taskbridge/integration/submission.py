"""The result route's fast path: a submission recorded in a driver transaction, before FastAPI.

``POST /api/integration/activity-results/tasks`` is the API's busiest write. On PostgreSQL,
:class:`SubmissionFastPath` records it when the key is fresh in the process cache and holds
``SUBMIT_ACTIVITY_RESULT``, the tenant's catalogue is cached, and no ``Idempotency-Key`` is sent.
The body is parsed by the route's own function (``kit.body.parse_json``), the contract's rules
are the route's own function (``results.service.record_result``) on a driver connection
(:class:`~taskbridge.results.driver_store.DriverStore`: the same statements), the answer is the
route's presenter, and errors are rendered by the route's handlers' functions. Left out: routing,
dependency resolution, the session and SQLAlchemy's execution layers.

Everything else goes on to the route with the body it was sent, and is answered as it always
was: another database, a key or catalogue not cached, an ``Idempotency-Key`` (its reservation is
a transaction of its own), a query string, a result that creates or cancels a follow-up
(``NeedsTheSession``: whatever was done is rolled back first), and a failure of the database
before the commit (rolled back, the connection discarded: the route meets the database itself and
answers a 503 if it is away). A failed ``COMMIT`` is answered here, as the route answers one: a
503 when the database is away (the client retries; the outcome is unknown, as on the route),
a 500 otherwise.

With rate limits on, a request counts against the key's quotas here; one that then goes on to the
route (for the reasons above) counts a second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskbridge.auth.permissions import Permission
from taskbridge.auth.principal import ApiKeyPrincipal
from taskbridge.errors import AppError, app_error_response, failure_response, pool_exhausted
from taskbridge.events.wakeups import committed
from taskbridge.integration.fast_path import (
    cached_key,
    enforced,
    json_reply,
    rate_limited,
    send_reply,
    single_headers,
)
from taskbridge.kit.body import parse_json
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.driver import DRIVER_DIALECTS, driver_connection
from taskbridge.kit.metrics import ROUTE_TEMPLATE
from taskbridge.kit.outage import answered_on, database_trouble, outage_on
from taskbridge.kit.rate_limit import RateLimits
from taskbridge.kit.time import utcnow
from taskbridge.result_types.service import Catalogue
from taskbridge.results.driver_store import DriverStore
from taskbridge.results.presenters import result_json
from taskbridge.results.schemas import ResultSubmission
from taskbridge.results.service import NeedsTheSession, Submitter, record_result

SUBMIT_PATH = "/api/integration/activity-results/tasks"

log = structlog.get_logger(__name__)


class _GoOn(Exception):
    """The route answers this request (nothing was written)."""


class _CommitFailed(Exception):
    """The ``COMMIT`` failed: its answer, raised so that the connection is discarded."""

    def __init__(self, answer: Response) -> None:
        self.answer = answer


class SubmissionFastPath:
    """Records a submission on the driver connection when the route would do exactly that."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: AsyncEngine,
        keys: TtlCache[str, ApiKeyPrincipal | None],
        catalogues: TtlCache[uuid.UUID, Catalogue],
        limits: RateLimits | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.keys = keys
        self.catalogues = catalogues
        self.limits = enforced(limits)
        self.enabled = engine.dialect.name in DRIVER_DIALECTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            self.enabled
            and scope["type"] == "http"
            and scope["path"] == SUBMIT_PATH
            and scope["method"] == "POST"
            and not scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        found = self._cached(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        key, catalogue = found
        scope[ROUTE_TEMPLATE] = SUBMIT_PATH  # counted as the route's answers are
        received_at = utcnow()
        answer = await rate_limited(self.limits, key)
        if answer is not None:
            await answer(scope, receive, send)
            return
        try:
            body = await Request(scope, receive).body()
        except ClientDisconnect:
            return  # nobody is left to answer (the route logs it and answers no one)
        except AppError as exc:  # the body limit, counted as it streamed in
            await app_error_response(exc)(scope, receive, send)
            return
        try:
            reply = await self._submit(key, catalogue, body, received_at)
        except _GoOn:
            await self.app(scope, _replaying(body, receive), send)
            return
        if isinstance(reply, Response):
            await reply(scope, receive, send)
        else:
            await send_reply(send, json_reply(201, reply))

    def _cached(self, scope: Scope) -> tuple[ApiKeyPrincipal, Catalogue] | None:
        headers = single_headers(scope["headers"])
        if headers is None or b"idempotency-key" in headers:
            return None
        key = cached_key(headers, self.keys, Permission.SUBMIT_ACTIVITY_RESULT)
        if key is None:
            return None
        catalogue = self.catalogues.peek_or_refresh(key.tenant_id)
        return None if catalogue is None else (key, catalogue)

    async def _submit(
        self, key: ApiKeyPrincipal, catalogue: Catalogue, body: bytes, received_at: datetime
    ) -> bytes | Response:
        """The 201's body, or the answer to a refusal; :class:`_GoOn` for the route."""
        try:
            data = parse_json(ResultSubmission, body)
        except AppError as exc:
            return app_error_response(exc)
        submitter = Submitter(
            tenant_id=key.tenant_id,
            actor=key.actor,
            api_key_id=key.key_id,
            locale=key.tenant.locale,
        )
        engine = self.engine.sync_engine
        try:
            # Any other error leaves the block with the transaction open: the connection is then
            # discarded (``driver_connection``), and the database rolls back what it held.
            async with driver_connection(self.engine) as connection:
                transaction = connection.transaction()
                await transaction.start()
                try:
                    result = await record_result(
                        DriverStore(connection, self.engine.dialect, key.tenant_id),
                        submitter,
                        data,
                        received_at=received_at,
                        catalogue=catalogue,
                    )
                except AppError as exc:
                    await transaction.rollback()
                    return app_error_response(exc)
                except NeedsTheSession:
                    await transaction.rollback()
                    raise _GoOn from None
                rendered = result_json(result).encode()
                try:
                    await transaction.commit()
                except Exception as exc:
                    answer = failure_response(outage_on(engine), exc, SUBMIT_PATH)
                    raise _CommitFailed(answer) from exc
        except _CommitFailed as failed:
            return failed.answer
        except PoolTimeout:
            return pool_exhausted(SUBMIT_PATH)  # the route would wait as long again
        except _GoOn:
            raise
        except Exception as exc:
            if database_trouble(exc) is None:
                log.warning("fast_path_fell_back", path=SUBMIT_PATH, exc_info=exc)
            raise _GoOn from exc
        committed(engine)
        answered_on(engine)
        return rendered


def _replaying(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """``receive`` for the route: the body already read, then whatever comes next."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
