"""The dispatcher's outcomes in the feed: ``task.dispatched`` on a 2xx, ``task.dispatch_failed``
when it gives up; each carrying the task as the integration API then shows it."""

from __future__ import annotations

import httpx

from tests.dispatch.conftest import Pusher, pusher, receiver, settings  # noqa: F401
from tests.dispatch.receiver import Received, Receiver
from tests.events.test_feed import read_all

TASKS = "/api/integration/activities/tasks"


def _fail(_request: Received) -> tuple[int, bytes]:
    return 500, b"down"


async def test_a_delivered_task_is_a_dispatched_event(
    pusher: Pusher,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    start = (await read_all(client, pusher.headers, 5))["meta"]["nextCursor"]
    task = await pusher.task()
    assert await pusher.dispatcher().drain() == 1
    page = await read_all(client, pusher.headers, 2, after=start)
    assert [e["type"] for e in page["data"]] == ["task.created", "task.dispatched"]
    shown = (await client.get(f"{TASKS}/{task.id}", headers=pusher.headers)).json()
    assert page["data"][1]["data"] == shown
    assert shown["lifecycleStatus"] == "DISPATCHED"


async def test_a_task_given_up_on_is_a_dispatch_failed_event(
    pusher: Pusher,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    client: httpx.AsyncClient,
) -> None:
    receiver.answer = _fail
    start = (await read_all(client, pusher.headers, 5))["meta"]["nextCursor"]
    task = await pusher.task()
    await pusher.dispatcher(dispatch_max_attempts=1).drain()
    page = await read_all(client, pusher.headers, 2, after=start)
    assert [e["type"] for e in page["data"]] == ["task.created", "task.dispatch_failed"]
    failed = page["data"][1]["data"]
    assert failed["id"] == str(task.id)
    assert failed["canForceRetryDispatch"] is True
