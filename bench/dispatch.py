"""``python -m bench.dispatch``: push dispatch on PostgreSQL, measured end to end.

One ``taskbridge dispatcher`` process, a local receiver process (uvicorn), and this process creating
tasks through the service, one task per transaction, as fast as it can. Two runs:

* **live**: the dispatcher runs while the tasks are created; for every task, the time from the
  creating commit to the receiver getting it (p50, p99, max), and deliveries per second;
* **backlog**: the tasks are created with the dispatcher stopped, then it is started; deliveries
  per second while it drains the queue (the dispatcher's own throughput).

Targets (issue 4): p50 ≤ 100 ms, p99 ≤ 1 s, ≥ 500 deliveries/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.load import free_port
from taskbridge.activities import service as activities
from taskbridge.activities.schemas import TaskCreate
from taskbridge.activities.status import Channel
from taskbridge.commerces import service as commerces
from taskbridge.commerces.schemas import CommerceItem
from taskbridge.config import Settings
from taskbridge.db import create_engine, create_session_factory, session_scope
from taskbridge.dispatch import service as dispatch
from taskbridge.dispatch.schemas import DispatchConfigCreate, Provider
from taskbridge.kit.time import utcnow
from taskbridge.migrations import upgrade
from taskbridge.tenants import service as tenants
from taskbridge.tenants.schemas import TenantCreate

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/taskbridge_bench_dispatch"
SCRIPT = str(Path(sys.executable).with_name("taskbridge"))
SECRET_KEY = "bench-dispatch-secret-key-of-32-bytes-or-more"


# --- the receiver process -------------------------------------------------------------------


def receiver_app() -> Any:
    """A bare ASGI app: records (activity id, arrival time) of each POST, serves them on GET."""
    arrivals: list[tuple[str, float]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "POST":
            arrivals.append((json.loads(body)["data"]["id"], time.time()))
            answer = b"{}"
        elif scope["path"] == "/count":
            answer = str(len(arrivals)).encode()
        else:
            answer = json.dumps(arrivals).encode()
            arrivals.clear()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


@contextmanager
def running_receiver() -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "bench.dispatch:receiver_app", "--factory",
        "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=Path(__file__).parent.parent)
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/count", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- the dispatcher process ------------------------------------------------------------------


async def listening(database_url: str) -> None:
    """Until a dispatcher's ``LISTEN`` connection is open (imports can take seconds)."""
    engine = create_async_engine(Settings(database_url=database_url).resolved_database_url())
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
    )
    try:
        async with asyncio.timeout(60):
            while True:
                async with engine.connect() as conn:
                    if await conn.scalar(query):
                        return
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


@asynccontextmanager
async def running_dispatcher(database_url: str, concurrency: int) -> AsyncIterator[None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    env |= {
        "TASKBRIDGE_DATABASE_URL": database_url,
        "TASKBRIDGE_SECRET_KEY": SECRET_KEY,
        "TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS": "true",
        "TASKBRIDGE_LOG_LEVEL": "WARNING",
    }
    command = [SCRIPT, "dispatcher", "--concurrency", str(concurrency)]
    process = await asyncio.create_subprocess_exec(*command, env=env)
    try:
        await listening(database_url)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


# --- this process: data and measurements -----------------------------------------------------


@dataclass
class Run:
    name: str
    created_per_second: float
    deliveries_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def reset_database(url: str) -> None:
    settings = Settings(database_url=url)
    engine = create_async_engine(settings.resolved_database_url())
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def prepare(
    factory: async_sessionmaker[AsyncSession], settings: Settings, url: str
) -> uuid.UUID:
    async with session_scope(factory) as session:
        tenant = await tenants.create(session, TenantCreate(name="Bench", slug="bench"))
        await commerces.sync(session, tenant.id, [CommerceItem(external_id="C1", name="Shop")])
        await dispatch.create_config(
            session,
            tenant.id,
            DispatchConfigCreate(
                channel=Channel.SALESMAN, provider=Provider.WEBHOOK, endpoint_url=f"{url}/hooks"
            ),
            settings,
        )
    return tenant.id


async def create_tasks(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, count: int, writers: int
) -> tuple[dict[str, float], float]:
    """``count`` tasks, one per transaction, from ``writers`` concurrent sessions."""
    committed: dict[str, float] = {}
    scheduled = utcnow() + timedelta(days=1)
    remaining = iter(range(count))

    async def writer() -> None:
        for _ in remaining:
            async with session_scope(factory) as session:
                task = await activities.create_task(
                    session,
                    tenant_id,
                    TaskCreate(
                        reason="bench",
                        channel=Channel.SALESMAN,
                        commerce_external_id="C1",
                        scheduled_at=scheduled,
                        idempotency_key=uuid.uuid4().hex,
                    ),
                    actor="bench",
                )
            committed[str(task.id)] = time.time()

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return committed, count / (time.perf_counter() - started)


async def arrivals(receiver: str, count: int) -> list[tuple[str, float]]:
    """The receiver's arrivals once it has ``count`` (or after five minutes)."""
    async with httpx.AsyncClient(base_url=receiver) as http:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(300):
                while True:
                    if int((await http.get("/count")).text) >= count:
                        break
                    await asyncio.sleep(0.05)
        found: list[list[Any]] = (await http.get("/arrivals")).json()
    return [(str(i), float(t)) for i, t in found]


def measure(
    name: str, committed: dict[str, float], got: list[tuple[str, float]], rate: float
) -> Run:
    first: dict[str, float] = {}
    for activity_id, at in got:
        first.setdefault(activity_id, at)
    missing = set(committed) - set(first)
    if missing:
        raise SystemExit(f"{name}: {len(missing)} tasks never arrived")
    latencies = [(first[i] - committed[i]) * 1000 for i in committed]
    times = sorted(first.values())
    live = name == "live"
    span = times[-1] - (min(committed.values()) if live else times[0])
    return Run(
        name=name,
        created_per_second=rate,
        deliveries_per_second=len(first) / span,
        p50_ms=percentile(latencies, 0.50) if live else None,
        p99_ms=percentile(latencies, 0.99) if live else None,
        max_ms=max(latencies) if live else None,
    )


async def bench(args: argparse.Namespace) -> list[Run]:
    await reset_database(args.postgres)
    settings = Settings(
        database_url=args.postgres,
        secret_key=SECRET_KEY,
        dispatch_allow_private_networks=True,
        db_pool_size=max(args.writers + 2, 10),
    )
    await asyncio.to_thread(upgrade, settings)
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    runs = []
    try:
        with running_receiver() as receiver:
            tenant_id = await prepare(factory, settings, receiver)
            async with running_dispatcher(args.postgres, args.concurrency):
                committed, rate = await create_tasks(factory, tenant_id, args.tasks, args.writers)
                got = await arrivals(receiver, args.tasks)
            runs.append(measure("live", committed, got, rate))
            committed, rate = await create_tasks(factory, tenant_id, args.tasks, args.writers)
            async with running_dispatcher(args.postgres, args.concurrency):
                got = await arrivals(receiver, args.tasks)
            runs.append(measure("backlog", committed, got, rate))
    finally:
        await engine.dispose()
    return runs


def report(runs: list[Run], args: argparse.Namespace) -> None:
    print(f"push dispatch, {args.tasks} tasks per run, PostgreSQL, one dispatcher "
          f"(concurrency {args.concurrency}), {args.writers} concurrent writers")  # fmt: skip
    print("| run | tasks created/s | deliveries/s | p50 commit→receiver | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in runs:
        ms = [f"{v:.1f} ms" if v is not None else "–" for v in (run.p50_ms, run.p99_ms, run.max_ms)]
        print(f"| {run.name} | {run.created_per_second:.0f} | {run.deliveries_per_second:.0f} | "
              f"{ms[0]} | {ms[1]} | {ms[2]} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_PG, help="a database this bench may wipe")
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=4, help="concurrent creating sessions")
    parser.add_argument("--concurrency", type=int, default=64, help="dispatcher in-flight sends")
    args = parser.parse_args()
    from tests.create_database import ensure_database

    asyncio.run(ensure_database(args.postgres))
    report(uvloop.run(bench(args)), args)


if __name__ == "__main__":
    main()
