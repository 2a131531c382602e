"""Group commit of attempt outcomes: while one transaction records, the next batch gathers.

A dispatcher sends many deliveries at once; recording each in its own transaction would cost
more than sending it. Outcomes wait in a queue, and each writer records all that are waiting in
one transaction. A batch that fails is retried one outcome at a time, so one bad row cannot hold
the others back; an outcome that still fails stays leased and is sent again when the lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.db import session_scope
from taskbridge.dispatch import completion
from taskbridge.dispatch.completion import Claim, Policy
from taskbridge.dispatch.sender import Attempt
from taskbridge.kit.outage import database_trouble, outage_of

log = structlog.get_logger(__name__)

MAX_GROUP = 100
WRITERS = 2

Outcome = tuple[Claim, Attempt, "asyncio.Future[None]"]


class Recorder:
    def __init__(self, factory: async_sessionmaker[AsyncSession], policy: Policy) -> None:
        self.factory = factory
        self.policy = policy
        self._queue: asyncio.Queue[Outcome] = asyncio.Queue()
        self._writers: list[asyncio.Task[None]] = []

    async def record(self, claim: Claim, attempt: Attempt) -> None:
        """Returns once the outcome is committed (or has failed and been logged)."""
        if not self._writers:
            raise RuntimeError("the recorder is not running")
        done = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((claim, attempt, done))
        await done

    async def _write(self, group: list[Outcome]) -> None:
        try:
            async with session_scope(self.factory) as session:
                pairs = [(claim, attempt) for claim, attempt, _ in group]
                await completion.record_attempts(session, pairs, self.policy)
        except Exception as exc:
            if len(group) > 1:
                for outcome in group:
                    await self._write([outcome])
                return
            delivery_id = str(group[0][0].delivery_id)
            trouble = database_trouble(exc)
            if trouble is None:
                log.exception("dispatch_record_failed", delivery_id=delivery_id)
            else:  # once per outage, not a traceback per delivery in flight
                outage_of(self.factory).noticed(trouble, exc, delivery_id=delivery_id)
        for _, _, done in group:
            if not done.done():
                done.set_result(None)

    async def _write_forever(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            await self._write(group)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Writers run inside this block; nested use reuses the running ones."""
        if self._writers:
            yield
            return
        self._writers = [asyncio.create_task(self._write_forever()) for _ in range(WRITERS)]
        try:
            yield
        finally:
            for writer in self._writers:
                writer.cancel()
            await asyncio.gather(*self._writers, return_exceptions=True)
            self._writers = []
