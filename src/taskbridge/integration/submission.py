"""The result route's fast path: a submission recorded in one transaction, before FastAPI.

``POST /api/integration/activity-results/tasks`` is the API's busiest write.
:class:`SubmissionFastPath` records it when the key is fresh in the process cache and holds
``SUBMIT_ACTIVITY_RESULT``, the tenant's catalogue is cached, and no ``Idempotency-Key`` is sent.
The body is parsed by the route's own function (``kit.body.parse_json``), the contract's rules
are the route's own function (``results.service.record_result``) on a store with the route's
statements (``results.fast_transactions``: an asyncpg transaction on PostgreSQL, SQLite's writer
thread), the answer is the route's presenter, and errors are rendered by the route's handlers'
functions. Left out: routing, dependency resolution, the session and SQLAlchemy's asyncio and
ORM layers.

Everything else goes on to the route with the body it was sent, and is answered as it always
was: a key or catalogue not cached, an ``Idempotency-Key`` (its reservation is a transaction of
its own), a query string, a result that creates or cancels a follow-up (``NeedsTheSession``:
whatever was done is rolled back first), and a failure of the database before the commit (rolled
back or the connection discarded: the route meets the database itself, and answers a 503 if it is
away). Answered here as the route answers them: a database too busy to take the write (503, the
route would wait as long again), and a failed ``COMMIT``: a 503 when the database is away (the
client retries; the outcome is unknown, as on the route), a 500 otherwise.

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
    cached_caller,
    enforced,
    json_reply,
    rate_limited,
    send_reply,
)
from taskbridge.kit.body import parse_json
from taskbridge.kit.cache import TtlCache
from taskbridge.kit.metrics import ROUTE_TEMPLATE
from taskbridge.kit.outage import Trouble, answered_on, database_trouble, outage_on
from taskbridge.kit.rate_limit import RateLimits
from taskbridge.kit.time import utcnow
from taskbridge.result_types.service import Catalogue
from taskbridge.results.fast_transactions import (
    CommitFailed,
    FastTransactions,
)
from taskbridge.results.presenters import result_json
from taskbridge.results.schemas import ResultSubmission
from taskbridge.results.service import SubmittedResult, Submitter, record_result
from taskbridge.results.stores import NeedsTheSession, SubmissionStore

SUBMIT_PATH = "/api/integration/activity-results/tasks"

log = structlog.get_logger(__name__)


class _GoOn(Exception):
    """The route answers this request (nothing was written)."""


class SubmissionFastPath:
    """Records a submission on the driver connection when the route would do exactly that."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: AsyncEngine,
        transactions: FastTransactions | None,
        keys: TtlCache[str, ApiKeyPrincipal | None],
        catalogues: TtlCache[uuid.UUID, Catalogue],
        limits: RateLimits | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.keys = keys
        self.catalogues = catalogues
        self.limits = enforced(limits)
        self.transactions = transactions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transactions = self.transactions
        if not (
            transactions is not None
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
            reply = await self._submit(transactions, key, catalogue, body, received_at)
        except _GoOn:
            await self.app(scope, _replaying(body, receive), send)
            return
        if isinstance(reply, Response):
            await reply(scope, receive, send)
        else:
            await send_reply(send, json_reply(201, reply))

    def _cached(self, scope: Scope) -> tuple[ApiKeyPrincipal, Catalogue] | None:
        caller = cached_caller(scope["headers"], self.keys, Permission.SUBMIT_ACTIVITY_RESULT)
        if caller is None or b"idempotency-key" in caller[0]:
            return None
        key = caller[1]
        catalogue = self.catalogues.peek_or_refresh(key.tenant_id)
        return None if catalogue is None else (key, catalogue)

    async def _submit(
        self,
        transactions: FastTransactions,
        key: ApiKeyPrincipal,
        catalogue: Catalogue,
        body: bytes,
        received_at: datetime,
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

        async def submit(store: SubmissionStore) -> SubmittedResult:
            return await record_result(
                store, submitter, data, received_at=received_at, catalogue=catalogue
            )

        engine = self.engine.sync_engine
        try:
            result = await transactions.run(key.tenant_id, submit)
        except AppError as exc:
            return app_error_response(exc)
        except NeedsTheSession:
            raise _GoOn from None
        except CommitFailed as failed:
            return failure_response(outage_on(engine), failed.error, SUBMIT_PATH)
        except PoolTimeout:
            return pool_exhausted(SUBMIT_PATH)  # the route would wait as long again
        except Exception as exc:
            trouble = database_trouble(exc)
            if trouble is Trouble.BUSY:  # the route would wait as long again
                return failure_response(outage_on(engine), exc, SUBMIT_PATH)
            if trouble is None:
                log.warning("fast_path_fell_back", path=SUBMIT_PATH, exc_info=exc)
            raise _GoOn from exc  # nothing was written: the route meets the database itself
        committed(engine)
        answered_on(engine)
        return result_json(result)


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
