"""Event webhook fixtures: a receiver that verifies every signature, an admin and a viewer key,
dispatchers on a controllable clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from taskbridge.auth.permissions import TENANT_KEY_PERMISSIONS, Permission
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch.worker import Dispatcher
from taskbridge.kit.time import utcnow
from taskbridge.models import Activity, AuditEntry, EventDelivery
from tests.dispatch.conftest import FakeClock, clock, settings  # noqa: F401
from tests.dispatch.receiver import Answer, Received, Receiver, ok, running_receiver
from tests.events.test_feed import read_all
from tests.factories import World, build_world, create_key, create_task

ENDPOINTS = "/api/event-endpoints"
HANG_GUARD = 20.0


@dataclass
class SignedReceiver:
    """A loopback receiver that checks every request's signature with ``standardwebhooks``
    against the secrets it was given: a request no secret verifies is answered 401 and kept in
    ``forged``. ``answer`` decides what a verified request gets."""

    receiver: Receiver
    secrets: list[str] = field(default_factory=list)
    answer: Callable[[Received], Answer] = ok
    forged: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.receiver.port}/events"

    @property
    def requests(self) -> list[Received]:
        return self.receiver.requests

    def verified(self, request: Received) -> Any:
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(request.body, request.headers)
            except WebhookVerificationError:
                continue
        raise WebhookVerificationError("no secret verifies this request")

    def _answer(self, request: Received) -> Answer:
        try:
            self.verified(request)
        except WebhookVerificationError:
            self.forged.append(request)
            return 401, b'{"error": "bad signature"}'
        return self.answer(request)

    def bodies(self) -> list[Any]:
        return [r.json() for r in self.requests]


@pytest.fixture
def events_receiver() -> Iterator[SignedReceiver]:
    signed = SignedReceiver(Receiver())
    signed.receiver.answer = signed._answer
    with running_receiver(signed.receiver):
        yield signed


@dataclass
class Hooks:
    """The ``acme`` world, an admin key (every tenant permission) and a viewer key."""

    world: World
    admin_key: str
    viewer_key: str
    settings: Settings
    factory: async_sessionmaker[AsyncSession]
    client: httpx.AsyncClient
    made: list[Dispatcher] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return {"x-api-key": self.admin_key}

    @property
    def viewer(self) -> dict[str, str]:
        return {"x-api-key": self.viewer_key}

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.world.tenant.id

    def dispatcher(self, clock: FakeClock | None = None, **changes: Any) -> Dispatcher:  # noqa: F811
        """A dispatcher on the test database (shut down after the test); jitter factor 1."""
        changed = self.settings.model_copy(update=changes) if changes else self.settings
        made = Dispatcher(changed, self.factory, now=clock or utcnow, rand=lambda: 0.5)
        self.made.append(made)
        return made

    async def create(self, receiver: SignedReceiver, **body: Any) -> dict[str, Any]:
        """An endpoint at ``receiver`` through the API; its secret is given to the receiver."""
        created = await self.client.post(
            ENDPOINTS, headers=self.admin, json={"url": receiver.url, **body}
        )
        assert created.status_code == 201, created.text
        shown: dict[str, Any] = created.json()
        receiver.secrets.append(shown["signingSecret"])
        return shown

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self.client.get(path, headers=self.viewer, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def task(self, **fields: Any) -> Activity:
        async with session_scope(self.factory) as session:
            return await create_task(session, self.tenant_id, **fields)

    async def feed_after(self, cursor: str | None) -> tuple[list[Any], str | None]:
        """Every event the feed shows now after ``cursor``, and the cursor after them."""
        events: list[Any] = []
        while True:
            params = {} if cursor is None else {"after": cursor}
            answer = await self.client.get(
                "/api/integration/events", headers=self.world.headers, params=params
            )
            assert answer.status_code == 200, answer.text
            page = answer.json()
            if not page["data"]:
                return events, cursor
            events += page["data"]
            cursor = page["meta"]["nextCursor"]

    async def feed_position(self) -> str:
        """The feed's cursor after every event so far (the world's five at least)."""
        cursor = (await read_all(self.client, self.world.headers, 5))["meta"]["nextCursor"]
        _events, cursor = await self.feed_after(cursor)
        assert cursor is not None
        return cursor

    async def until_in_feed(self, subject_id: uuid.UUID) -> None:
        """Wait until the feed shows an event about ``subject_id`` (on PostgreSQL a transaction
        open anywhere in the cluster holds it back); a hang guard, polled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANG_GUARD
        while True:
            events, _ = await self.feed_after(None)
            if any(e["subjectId"] == str(subject_id) for e in events):
                return
            assert loop.time() < deadline, "the event never showed in the feed"
            await asyncio.sleep(0.05)

    async def feed(self, after: str, expect: int) -> list[Any]:
        events: list[Any] = (await read_all(self.client, self.world.headers, expect, after=after))[
            "data"
        ]
        return events

    async def deliveries(self, endpoint_id: str | None = None) -> list[EventDelivery]:
        async with session_scope(self.factory) as session:
            stmt = select(EventDelivery).order_by(EventDelivery.created_at)
            if endpoint_id is not None:
                stmt = stmt.where(EventDelivery.endpoint_id == uuid.UUID(endpoint_id))
            return list((await session.scalars(stmt)).all())

    async def audit(self, prefix: str = "event_endpoint.") -> list[AuditEntry]:
        async with session_scope(self.factory) as session:
            stmt = (
                select(AuditEntry)
                .where(AuditEntry.action.startswith(prefix))
                .order_by(AuditEntry.occurred_at, AuditEntry.id)
            )
            return list((await session.scalars(stmt)).all())


async def deliver_until(
    dispatcher: Dispatcher, done: Callable[[], Awaitable[bool]], seconds: float = HANG_GUARD
) -> None:
    """Relay and send until ``done()``. On PostgreSQL a transaction open anywhere in the
    cluster holds committed events back from the relay (as from the feed) until it ends, so
    this drains again until the condition holds; ``seconds`` is only a hang guard."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        await dispatcher.drain()
        if await done():
            return
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def hooks(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,  # noqa: F811
    client: httpx.AsyncClient,
) -> AsyncIterator[Hooks]:
    world = await build_world(session_factory)
    async with session_scope(session_factory) as session:
        admin = await create_key(session, world.tenant.id, *TENANT_KEY_PERMISSIONS, name="admin")
        viewer = await create_key(session, world.tenant.id, Permission.VIEW_ACTIVITIES, name="v")
    made = Hooks(world, admin, viewer, settings, session_factory, client)
    # The world's events in the feed first: an endpoint created after this starts past them
    # (on PostgreSQL a transaction open elsewhere in the cluster could hold them back, and a new
    # endpoint starts at the oldest running transaction: the safe side, which sends them).
    await made.feed_position()
    yield made
    for dispatcher in made.made:
        await dispatcher.shutdown()
