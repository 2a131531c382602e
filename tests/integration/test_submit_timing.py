"""Submissions racing each other or a slow server: one result wins, receipt time decides rule 4."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.kit.time import utcnow
from tests.conftest import FAST_PATH
from tests.factories import World
from tests.integration.support import SUBMIT, count_results, stamp, submission


async def post(client: httpx.AsyncClient, world: World, body: dict[str, object]) -> httpx.Response:
    return await client.post(SUBMIT, headers=world.headers, json=body)


async def test_concurrent_final_results_store_one(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    bodies = [
        submission(world.task.id),
        submission(world.task.id, "NOT_INTERESTED", status="NOT_EFFECTIVE"),
        submission(world.task.id, "NO_CONTACT", status="NOT_EFFECTIVE"),
    ]
    responses = await asyncio.gather(*(post(client, world, body) for body in bodies))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]
    assert await count_results(session_factory) == 1


async def test_future_date_is_judged_against_the_moment_of_receipt(
    app: FastAPI, client: httpx.AsyncClient, world: World, served_by: str
) -> None:
    """A date just after receipt is accepted even when the server is slow to get to rule 4."""
    if served_by == FAST_PATH:
        pytest.skip("the fast path's key lookup is the client's, before the request is sent")
    slowed: list[str] = []

    def slow_key_lookup(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM api_keys" in statement and not slowed:
            slowed.append(statement)
            time.sleep(0.6)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", slow_key_lookup)
    try:
        soon = stamp(utcnow() + timedelta(milliseconds=300))
        body = submission(world.task.id, "RESCHEDULE", task_result={"future_scheduled_at": soon})
        response = await post(client, world, body)
    finally:
        event.remove(engine, "before_cursor_execute", slow_key_lookup)
    assert slowed
    assert response.status_code == 201, response.text
    assert utcnow().isoformat() > soon.removesuffix("Z")
