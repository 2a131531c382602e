"""The dispatcher: claim due deliveries, send them concurrently, record every attempt.

Each delivery is leased (``claimed_until``) in one short transaction, sent with no transaction
open, and its outcome recorded in another. A dispatcher that dies leaves leases that expire, so
another one (or itself, restarted) sends those deliveries again: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities import service as activities
from taskbridge.activities.presenters import task_document
from taskbridge.activities.repository import TaskRow
from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.dispatch import completion, repository, sender, service
from taskbridge.dispatch.completion import Claim, Policy
from taskbridge.dispatch.deliveries import CLOSED_ACTIVITY
from taskbridge.dispatch.recorder import Recorder
from taskbridge.dispatch.repository import ClaimedDelivery
from taskbridge.dispatch.schemas import AttemptOutcome
from taskbridge.dispatch.sealing import SealBroken
from taskbridge.dispatch.sender import Attempt, Network, Target, event_body
from taskbridge.dispatch.wakeups import PgListener, Wakeup
from taskbridge.event_endpoints import relay as event_relay
from taskbridge.event_endpoints import repository as event_repository
from taskbridge.event_endpoints import sending as event_sending
from taskbridge.event_endpoints.sending import EventJob
from taskbridge.kit.outage import database_trouble, outage_of
from taskbridge.kit.time import utcnow
from taskbridge.retention.service import purging_in_background

log = structlog.get_logger(__name__)

MAX_BATCH = 100
CLAIM_WHEN_FREE = 4
"""While busy, claim again once 1/CLAIM_WHEN_FREE of the slots are free."""
SEAL_BROKEN = (
    "the config's secrets do not open with this server's key "
    "(was TASKBRIDGE_SECRET_KEY changed?); not sent"
)
SHUTDOWN_GRACE_SECONDS = sender.TIMEOUT_SECONDS + 5


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery, ready to send.

    ``skip`` closes it unsent (its config or task closed meanwhile); ``refused`` records a failed
    attempt without sending (its secrets do not open), so the retry schedule still applies.
    """

    claim: Claim
    target: Target | None
    body: str
    skip: str | None = None
    refused: str | None = None


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:12]}"


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        factory: async_sessionmaker[AsyncSession],
        *,
        worker_id: str | None = None,
        now: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        network: Network | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.worker_id = worker_id or default_worker_id()
        self.now = now
        self.policy = Policy(self.worker_id, settings.dispatch_max_attempts, rand)
        self.concurrency = settings.dispatch_concurrency
        self.clients = sender.ClientPool(
            self.concurrency,
            network or Network(),
            allow_private_networks=settings.dispatch_allow_private_networks,
        )
        self.inflight: set[asyncio.Task[Attempt | None]] = set()
        self.recorder = Recorder(factory, self.policy)

    def _prepare(self, claimed: ClaimedDelivery, row: TaskRow, now: datetime) -> Job:
        delivery, config = claimed.delivery, claimed.config
        claim = Claim(delivery.id, delivery.tenant_id, delivery.activity_id, delivery.config_id)
        if config is None or not config.is_active:
            return Job(claim, None, "", skip="dispatch config is inactive or deleted")
        if row.status in CLOSED_ACTIVITY:
            return Job(claim, None, "", skip=f"activity is {row.status}; not sent")
        data = task_document(row, claimed.locale)
        try:
            target = service.target_of(config, self.settings, now)
        except SealBroken:
            return Job(claim, None, "", refused=SEAL_BROKEN)
        return Job(claim, target, event_body(delivery.event_type, data))

    async def claim(self, limit: int) -> list[Job]:
        """Lease up to ``limit`` due task deliveries and render their bodies, in one transaction."""
        return (await self._claim(limit, events=False))[0]

    async def claim_all(self, limit: int) -> tuple[list[Job], list[EventJob]]:
        """:meth:`claim`, then event deliveries in the slots left, in the same transaction."""
        return await self._claim(limit, events=True)

    async def _claim(self, limit: int, *, events: bool) -> tuple[list[Job], list[EventJob]]:
        now = self.now()
        lease_until = now + timedelta(seconds=self.settings.dispatch_lease_seconds)
        async with session_scope(self.factory) as session:
            ids = await repository.claim_due_deliveries(
                session, worker_id=self.worker_id, now=now, lease_until=lease_until, limit=limit
            )
            jobs: list[Job] = []
            if ids:
                claimed = await repository.load_claimed(session, ids)
                rows = await self._tasks_of(session, claimed)
                jobs = [self._prepare(c, rows[c.delivery.activity_id], now) for c in claimed]
            if not events:
                return jobs, []
            event_jobs = await event_sending.claim(
                session,
                self.settings,
                worker_id=self.worker_id,
                now=now,
                lease_until=lease_until,
                limit=limit - len(jobs),
            )
            return jobs, event_jobs

    @staticmethod
    async def _tasks_of(
        session: AsyncSession, claimed: list[ClaimedDelivery]
    ) -> dict[uuid.UUID, TaskRow]:
        """The claimed deliveries' tasks, one query per tenant."""
        by_tenant: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for c in claimed:
            by_tenant[c.delivery.tenant_id].append(c.delivery.activity_id)
        rows: dict[uuid.UUID, TaskRow] = {}
        for tenant_id, activity_ids in by_tenant.items():
            rows |= await activities.get_tasks(session, tenant_id, activity_ids)
        return rows

    async def _send(self, job: Job | EventJob) -> Attempt:
        if job.target is None:
            return Attempt(self.now(), None, AttemptOutcome.REFUSED, error=job.refused)
        async with self.clients.client() as client:
            return await sender.send(
                client,
                job.target,
                msg_id=str(job.claim.delivery_id),
                body=job.body,
                now=self.now(),
            )

    async def process(self, job: Job) -> Attempt | None:
        """Send one job and record the outcome; failures to record leave the lease to expire."""
        try:
            if job.skip is not None:
                async with session_scope(self.factory) as session:
                    await completion.cancel_unsent(session, job.claim, self.worker_id, job.skip)
                return None
            attempt = await self._send(job)
            await self.recorder.record(job.claim, attempt)
            return attempt
        except Exception as exc:
            self._failed(exc, "dispatch_record_failed", delivery_id=str(job.claim.delivery_id))
            return None

    async def process_event(self, job: EventJob) -> Attempt | None:
        """Send one event delivery and record the outcome in its own transaction."""
        try:
            if job.skip is not None:
                async with session_scope(self.factory) as session:
                    await event_sending.cancel_unsent(session, job.claim, self.worker_id, job.skip)
                return None
            attempt = await self._send(job)
            async with session_scope(self.factory) as session:
                await event_sending.record(
                    session, job.claim, attempt, worker_id=self.worker_id, rand=self.policy.rand
                )
            return attempt
        except Exception as exc:
            self._failed(
                exc, "event_delivery_record_failed", delivery_id=str(job.claim.delivery_id)
            )
            return None

    async def relay_events(self) -> int:
        """Fan the feed out to the event endpoints until caught up (``run`` does it on every
        feed wake-up); the deliveries created."""
        return await event_relay.relay_all(self.factory, self.now())

    def _failed(self, exc: Exception, event: str, **context: str) -> None:
        """A database outage is logged once (the next commit ends it), not once per poll;
        anything else with its traceback. Either way the loop goes on: it resumes by itself."""
        trouble = database_trouble(exc)
        if trouble is None:
            log.error(event, exc_info=exc, **context)
        else:
            outage_of(self.factory).noticed(trouble, exc, worker=self.worker_id, **context)

    async def run_once(self, limit: int | None = None) -> int:
        """Claim one batch and wait for all of it; the number of deliveries handled."""
        await self.relay_events()
        async with self.recorder.running():
            jobs, event_jobs = await self.claim_all(limit or min(self.concurrency, MAX_BATCH))
            await asyncio.gather(
                *(self.process(job) for job in jobs),
                *(self.process_event(job) for job in event_jobs),
            )
        return len(jobs) + len(event_jobs)

    async def drain(self) -> int:
        """Handle batches until nothing is due (tests, and ``dispatch-config test``)."""
        total = 0
        while handled := await self.run_once():
            total += handled
        return total

    def _spawn(self, job: Job | EventJob) -> None:
        work = self.process(job) if isinstance(job, Job) else self.process_event(job)
        task = asyncio.create_task(work)
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _wait(self, wakeup: Wakeup, stop: asyncio.Event, slots_full: bool) -> None:
        signals: list[asyncio.Future[bool]] = [asyncio.ensure_future(stop.wait())]
        if not slots_full:
            signals.append(asyncio.ensure_future(wakeup.event.wait()))
        watched: set[asyncio.Future[Any]] = set()
        watched.update(signals)
        if slots_full:
            watched.update(self.inflight)
        try:
            await asyncio.wait(
                watched,
                timeout=self.settings.dispatch_poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for signal in signals:
                signal.cancel()

    async def _cycle(self, wakeup: Wakeup, stop: asyncio.Event) -> None:
        free = self.concurrency - len(self.inflight)
        if free < max(1, self.concurrency // CLAIM_WHEN_FREE) and self.inflight:
            # Claiming one delivery per slot that frees up costs a transaction per delivery;
            # waiting for a quarter of the slots makes every claim a batch.
            await self._wait(wakeup, stop, slots_full=True)
            return
        wakeup.event.clear()
        try:
            jobs, event_jobs = await self.claim_all(min(free, MAX_BATCH))
        except Exception as exc:
            self._failed(exc, "dispatch_claim_failed")
            jobs, event_jobs = [], []
        for job in jobs:
            self._spawn(job)
        for event_job in event_jobs:
            self._spawn(event_job)
        if len(jobs) + len(event_jobs) < min(free, MAX_BATCH):
            await self._wait(wakeup, stop, slots_full=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set, then finish what is in flight or release it."""
        log.info("dispatcher_started", worker=self.worker_id)
        listener = None
        with Wakeup() as wakeup:
            if self.settings.resolved_database_url().startswith("postgresql"):
                listener = PgListener(self.settings.resolved_database_url(), wakeup)
                await listener.start()
            try:
                # Retention rides along with the dispatchers (never plain API workers).
                async with (
                    self.recorder.running(),
                    purging_in_background(self.settings, self.factory, self.now),
                    event_relay.relaying_in_background(
                        self.settings, self.factory, now=self.now, created=wakeup.event.set
                    ),
                ):
                    while not stop.is_set():
                        await self._cycle(wakeup, stop)
                    await self._finish_inflight()
            finally:
                if listener is not None:
                    await listener.stop()
                await self.shutdown()
        log.info("dispatcher_stopped", worker=self.worker_id)

    async def _finish_inflight(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let in-flight sends finish and be recorded (sends time out in 10 s); cancel the rest."""
        if not self.inflight:
            return
        _done, pending = await asyncio.wait(set(self.inflight), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def shutdown(self) -> None:
        """Release anything still held (its lease would expire anyway) and close the clients."""
        await self._finish_inflight()
        with contextlib.suppress(Exception):
            async with session_scope(self.factory) as session:
                released = await repository.release_claims(session, self.worker_id)
                released += await event_repository.release_claims(session, self.worker_id)
            if released:
                log.info("dispatch_claims_released", count=released, worker=self.worker_id)
        await self.clients.aclose()


@contextlib.asynccontextmanager
async def dispatcher_in_background(
    settings: Settings, factory: async_sessionmaker[AsyncSession], network: Network | None = None
) -> AsyncIterator[Dispatcher | None]:
    """Run a dispatcher beside the web server when the settings ask for it (SQLite default)."""
    if not settings.runs_dispatcher_in_process():
        yield None
        return
    stop = asyncio.Event()
    dispatcher = Dispatcher(settings, factory, network=network)
    task = asyncio.create_task(dispatcher.run(stop), name="dispatcher")
    try:
        yield dispatcher
    finally:
        stop.set()
        await task
