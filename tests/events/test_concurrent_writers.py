"""The feed's promise under concurrency: 8 writer processes commit out of id order while readers
long-poll a real server the whole time; every reader sees every event exactly once, in the same
order (the order of (txid, id) in the table)."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskbridge.config import Settings
from taskbridge.db import session_scope
from taskbridge.events.service import Position
from taskbridge.models import Event
from tests.events import writers
from tests.factories import build_world
from tests.servers import server_env, start_server, stop, wait_for

WRITERS = 8
TRANSACTIONS = 12
READERS = 3
HANG_GUARD = 240.0


async def _follow(
    url: str, headers: dict[str, str], done: asyncio.Event, expected: list[int]
) -> list[str]:
    """Long-poll the feed until the writers are done and every event is read."""
    seen: list[str] = []
    cursor = None
    deadline = time.monotonic() + HANG_GUARD
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while not (done.is_set() and expected and len(seen) >= expected[0]):
            assert time.monotonic() < deadline, f"read {len(seen)} of {expected}"
            params: dict[str, Any] = {"wait": 2, "limit": 7}
            if cursor is not None:
                params["after"] = cursor
            answer = await client.get("/api/integration/events", headers=headers, params=params)
            if answer.status_code == 503:  # busy (SQLite's write lock): retry, as clients do
                await asyncio.sleep(float(answer.headers["retry-after"]))
                continue
            assert answer.status_code == 200, answer.text
            page = answer.json()
            seen += [event["id"] for event in page["data"]]
            cursor = page["meta"]["nextCursor"]
    return seen


async def _stored_order(factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_scope(factory) as session:
        rows = await session.execute(
            select(Event.txid, Event.id, Event.created_at).order_by(Event.txid, Event.id)
        )
        return [Position(txid, event_id, at).encode() for txid, event_id, at in rows]


async def test_every_reader_sees_every_event_once_in_one_order(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    world = await build_world(session_factory)
    server = start_server(server_env(settings), tmp_path)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=writers.write,
            args=(
                settings.resolved_database_url(),
                str(settings.data_dir),
                str(world.tenant.id),
                TRANSACTIONS,
                seed,
            ),
        )
        for seed in range(WRITERS)
    ]
    try:
        wait_for([server])
        done, expected = asyncio.Event(), []
        readers = [
            asyncio.create_task(_follow(server.url, world.headers, done, expected))
            for _ in range(READERS)
        ]
        for process in processes:
            process.start()
        for process in processes:
            await asyncio.to_thread(process.join, HANG_GUARD)
            assert process.exitcode == 0, f"writer failed: {process.exitcode}"
        stored = await _stored_order(session_factory)
        expected.append(len(stored))
        done.set()
        seen = await asyncio.wait_for(asyncio.gather(*readers), HANG_GUARD)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        stop([server.process])
    assert len(stored) > WRITERS * TRANSACTIONS * 2  # tasks created, results, completions
    for reader in seen:
        assert len(reader) == len(set(reader)), "an event was repeated"
        assert reader == stored, "an event was skipped, or read out of order"
