"""A dispatcher whose database stops answering logs it once, not a traceback per poll, and
delivers again by itself when the database is back (SQLite's write lock held elsewhere here;
tests/integration/test_database_outage.py stops a real PostgreSQL cluster under ``serve``)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from structlog.testing import capture_logs

from taskbridge import db
from taskbridge.config import Settings
from tests.conftest import is_postgres
from tests.dispatch.conftest import Pusher
from tests.dispatch.receiver import Receiver
from tests.integration.test_database_busy import write_lock

pytestmark = pytest.mark.skipif(is_postgres(), reason="SQLite's write lock")

HANG_GUARD_SECONDS = 10.0


@pytest.fixture(autouse=True)
def impatient_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy timeout of 20 ms instead of 10 s, before any connection opens."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 20)


async def test_a_dispatcher_logs_an_outage_once_and_resumes_by_itself(
    pusher: Pusher, receiver: Receiver, settings: Settings
) -> None:
    refused: list[BaseException] = []

    def count(context: ExceptionContext) -> None:
        refused.append(context.original_exception)

    event.listen(pusher.factory.kw["bind"].sync_engine, "handle_error", count)
    dispatcher = pusher.dispatcher()
    stop = asyncio.Event()
    with capture_logs() as logs:
        with write_lock(settings):
            running = asyncio.create_task(dispatcher.run(stop))
            deadline = time.monotonic() + HANG_GUARD_SECONDS
            while len(refused) < 3:  # three polls in a row met the lock
                assert time.monotonic() < deadline, "the dispatcher stopped polling"
                await asyncio.sleep(0.01)
        task = await pusher.task()
        received = await receiver.wait_for(1)
        stop.set()
        await running

    assert [r.json()["data"]["id"] for r in received] == [str(task.id)]
    events = [entry["event"] for entry in logs]
    assert events.count("database_unavailable") == 1
    assert "database_available_again" in events
    assert "dispatch_claim_failed" not in events
    assert not [entry for entry in logs if "exc_info" in entry]
