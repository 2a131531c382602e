"""A writer process of the concurrent-feed proof: tasks and results through the services, in
transactions of varied length, so that commits reach the database out of id order."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.activities import service as activities
from taskbridge.activities.schemas import TaskCreate
from taskbridge.activities.status import Channel
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.kit.outage import database_trouble
from taskbridge.kit.time import utcnow
from taskbridge.results import service as results
from taskbridge.results.schemas import ResultStatus, ResultSubmission, TaskResultIn
from tests.conftest import TEST_SECRET_KEY

BUSY_RETRIES = 3
"""Times a writer retries a transaction the database was too busy to take."""


def _task() -> TaskCreate:
    return TaskCreate(
        reason="concurrent feed",
        channel=Channel.SALESMAN,
        commerce_external_id="COM-001",
        operator_external_id="OP-17",
        scheduled_at=utcnow() + timedelta(days=1),
        idempotency_key=uuid.uuid4().hex,
    )


def _result(activity_id: uuid.UUID) -> ResultSubmission:
    return ResultSubmission(
        activity_id=activity_id,
        commerce_external_id="COM-001",
        occurred_at=utcnow(),
        status=ResultStatus.EFFECTIVE,
        task_result=TaskResultIn(result="SALE_COMPLETED"),
    )


async def _write(
    database_url: str, data_dir: Path, tenant_id: uuid.UUID, transactions: int, seed: int
) -> None:
    settings = Settings(database_url=database_url, data_dir=data_dir, secret_key=TEST_SECRET_KEY)
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    rand = random.Random(seed)
    submitter = results.Submitter(tenant_id=tenant_id, actor=f"writer-{seed}")
    # PostgreSQL: held open a varied while after their events got ids. SQLite runs one writer
    # at a time, so holding its write lock would only queue the others (and the readers' keys).
    hold_open = engine.dialect.name == "postgresql"
    try:
        for _ in range(transactions):
            steps = [rand.random() < 0.5 for _ in range(rand.randint(1, 3))]
            pauses = [rand.random() * 0.02 if hold_open else 0.0 for _ in steps]
            for attempt in range(BUSY_RETRIES + 1):
                try:
                    await _transaction(factory, tenant_id, submitter, steps, pauses)
                    break
                except Exception as exc:
                    # SQLite's one write lock, busier than its timeout on a loaded machine: what a
                    # client sees as a 503 and retries. The feed's proof reads what committed.
                    if attempt == BUSY_RETRIES or database_trouble(exc) is None:
                        raise
    finally:
        await engine.dispose()


async def _transaction(
    factory: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    submitter: results.Submitter,
    steps: list[bool],
    pauses: list[float],
) -> None:
    async with session_scope(factory) as session:
        for with_result, pause in zip(steps, pauses, strict=True):
            task = await activities.create_task(session, tenant_id, _task(), actor="w")
            if pause:  # other writers' later ids commit first
                await asyncio.sleep(pause)
            if with_result:
                await results.submit_result(session, submitter, _result(task.id))


def write(database_url: str, data_dir: str, tenant_id: str, transactions: int, seed: int) -> None:
    """The process's target (spawned: plain arguments only)."""
    asyncio.run(_write(database_url, Path(data_dir), uuid.UUID(tenant_id), transactions, seed))
