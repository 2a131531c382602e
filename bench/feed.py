"""The event feed under load: ONE client long-polling ``GET /api/integration/events`` while
writers create tasks and record their results through the HTTP API, on PostgreSQL.

``python -m bench.feed`` prints the two rows; ``make bench`` (``bench/run.py``) adds them to its
table (``--only feed`` for these alone). One run, about 30 s:

1. wipes and migrates its own database (``taskbridge_bench_feed`` on the bench's server, or
   ``BENCH_FEED_PG_URL``), then makes a tenant, the seed result types, a commerce and a key;
2. starts the production server (uvicorn, one worker, pinned to the server core, as every row)
   and warms it up (:data:`WARM_UP_ROUNDS` rounds of each request, not measured);
3. the reader (this process, pinned to the load core) reads the feed up to a marker written
   after the warm-up (:func:`_marker`), then follows
   ``meta.nextCursor`` with ``wait=30``, ``limit=100``, noting when each event arrived;
4. a writer process (pinned to the load core too) runs :data:`WRITERS` clients for
   :data:`SECONDS` seconds; each repeats: ``POST /api/activities/tasks`` (``task.created``),
   then ``POST /api/integration/activity-results/tasks`` for that task (``result.recorded`` and
   ``task.completed``), noting for each event when its request was sent and when its 2xx answer
   arrived (the commit is durable by then: the unit of work commits before the response);
5. once the writers stop, a marker event is written (:func:`_marker`); the reader reads on
   until it gets it (a hang guard of :data:`DRAIN_GUARD` seconds), and the run checks that it
   saw every written event exactly once.

Rows: events written per second (the baseline, same run) and events read per second (ratio
read / written ≈ 1 when the reader keeps up). The commit→read delay of an event is bounded:
commit ≤ answer arrived, and commit ≥ request sent, so

    max(0, read − answer) ≤ commit→read ≤ read − request sent.

The row's p50/p99 are the lower bound (``read − answer``, clamped at 0: a reader can get an
event before its writer gets the answer, which only says the delay was below the answer's own
latency); the upper bound's p50/p99 are named beside the ratio. Nothing here depends on how the
server wakes long polls (in-process signal, ``NOTIFY``, or the 0.5 s fallback poll).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import uvloop
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench import dataset
from bench.load import (
    LOAD_CORE,
    Measurement,
    cpu_seconds,
    peak_rss_mb,
    running_server,
    wait_for_other_loads,
)

FEED_DATABASE = "taskbridge_bench_feed"
WRITERS = 8
SECONDS = 10.0
MAX_ROUNDS = 20_000
"""Per writer: a bound on requests (two per round) that a fast machine would still not reach."""
WARM_UP_ROUNDS = 20
QUIET_GUARD = 120.0
"""Seconds the run waits, before measuring, for the feed to reach the warm-up's end (another
database's long writing transaction, e.g. a bulk load, holds every feed of the server back)."""
DRAIN_GUARD = 10.0
"""Seconds the reader may take, after the last write, to read the last events (hang guard)."""
WAIT = 30
PAGE = 100
COMMERCE = "COM-FEED"
READ_ROW = "PG feed: events read/s, one long-polling client (p50/p99: commit→read delay)"


def write_row(writers: int) -> str:
    return f"PG feed: events written/s, {writers} writer clients (p50/p99: request latency)"


WRITE_ROW = write_row(WRITERS)
NO_LIMITS = {"TASKBRIDGE_RATE_LIMIT_PER_KEY": "", "TASKBRIDGE_RATE_LIMIT_PER_TENANT": ""}
"""As in ``bench/run.py``: the rows measure the routes alone."""
EVENTS = "/api/integration/events"
TASKS = "/api/activities/tasks"
RESULTS = "/api/integration/activity-results/tasks"
RESULT_TYPES = "/api/task-result-type-configs"
MARKER = "result_type.created"
START = "FEED_BENCH_START"
END = "FEED_BENCH_END"

KEY_VARIABLE = "BENCH_FEED_KEY"
"""How the writer process gets the key (not on its command line, which ``ps`` shows)."""

Key = tuple[str, str]
"""(event type, subject id): what names one written event."""


def feed_url(postgres: str) -> str:
    """``BENCH_FEED_PG_URL``, or the bench server's database :data:`FEED_DATABASE` (wiped each
    run; never the loaded ``taskbridge_bench``)."""
    explicit = os.environ.get("BENCH_FEED_PG_URL")
    if explicit:
        return explicit
    url = make_url(postgres.replace("postgresql+asyncpg://", "postgresql://"))
    return url.set(database=FEED_DATABASE).render_as_string(hide_password=False)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- the database ---------------------------------------------------------------------------


async def _reset(url: str) -> None:
    from tests.create_database import ensure_database

    await ensure_database(url)
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def _tenant(url: str) -> str:
    """A tenant with the seed result types, one commerce, and a key that creates tasks,
    records results and reads the feed: its plaintext."""
    from taskbridge.auth import service as auth
    from taskbridge.commerces import service as commerces
    from taskbridge.commerces.schemas import CommerceItem
    from taskbridge.config import Settings
    from taskbridge.db import create_engine, create_session_factory, session_scope
    from taskbridge.result_types import service as result_types
    from taskbridge.result_types.schemas import ResultTypeCreate
    from taskbridge.tenants import service as tenants
    from taskbridge.tenants.schemas import TenantCreate

    engine = create_engine(Settings(database_url=url))
    try:
        async with session_scope(create_session_factory(engine)) as session:
            tenant = await tenants.create(session, TenantCreate(name="Feed", slug="feed"))
            for code, label, future in dataset.SEED:
                await result_types.create(
                    session,
                    tenant.id,
                    ResultTypeCreate(code=code, label=label, requires_future_scheduled_at=future),
                )
            await commerces.sync(session, tenant.id, [CommerceItem(external_id=COMMERCE, name="F")])
            key = await auth.create_api_key(
                session,
                tenant.id,
                name="feed bench",
                permissions=[
                    "VIEW_ACTIVITIES",
                    "CREATE_ACTIVITY",
                    "SUBMIT_ACTIVITY_RESULT",
                    "MANAGE_ACTIVITY_CONFIG",
                ],
            )
    finally:
        await engine.dispose()
    return key.plaintext


# --- the writer process ---------------------------------------------------------------------


def new_task() -> dict[str, Any]:
    return {
        "reason": "feed bench",
        "channel": "SALESMAN",
        "commerce_external_id": COMMERCE,
        "scheduled_at": "2026-12-01T09:00:00Z",
        "idempotency_key": uuid.uuid4().hex,
    }


def new_result(task_id: str) -> dict[str, Any]:
    return {
        "activity_id": task_id,
        "commerce_external_id": COMMERCE,
        "occurred_at": "2026-12-01T10:00:00Z",
        "status": "EFFECTIVE",
        "task_result": {"result": "SALE_COMPLETED"},
    }


async def _warm_up(http: httpx.AsyncClient) -> None:
    """A few rounds of each request first (not measured): the server's first requests pay for
    lazy imports and caches."""
    for _ in range(WARM_UP_ROUNDS):
        task = await http.post(TASKS, json=new_task())
        task.raise_for_status()
        (await http.post(RESULTS, json=new_result(task.json()["id"]))).raise_for_status()
        (await http.get(EVENTS, params={"limit": PAGE})).raise_for_status()


async def _write(port: int, key: str, writers: int, seconds: float) -> dict[str, Any]:
    """``writers`` clients for ``seconds``: per event (type, subject, sent, answered) in
    ``time.monotonic()`` seconds (one clock for every process of the machine)."""
    written: list[tuple[str, str, float, float]] = []
    latencies: list[tuple[str, float]] = []
    failures: list[str] = []
    headers = {"x-api-key": key}
    limits = httpx.Limits(max_connections=writers, max_keepalive_connections=writers)

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10, limits=limits
    ) as http:

        async def post(path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float, float]:
            sent = time.monotonic()
            response = await http.post(path, json=body)
            answered = time.monotonic()
            latencies.append((path, (answered - sent) * 1000))
            if response.status_code != 201:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
            document: dict[str, Any] = response.json()
            return document, sent, answered

        async def writer(deadline: float) -> None:
            for _ in range(MAX_ROUNDS):
                if time.monotonic() >= deadline:
                    return
                try:
                    task, sent, answered = await post(TASKS, new_task())
                    written.append(("task.created", task["id"], sent, answered))
                    result, sent, answered = await post(RESULTS, new_result(task["id"]))
                    written.append(("result.recorded", result["id"], sent, answered))
                    written.append(("task.completed", task["id"], sent, answered))
                except (httpx.HTTPError, RuntimeError) as error:
                    failures.append(str(error) or type(error).__name__)

        started = time.monotonic()
        await asyncio.gather(*(writer(started + seconds) for _ in range(writers)))
    return {
        "started": started,
        "ended": max((w[3] for w in written), default=started),
        "written": written,
        "latencies": latencies,
        "failures": failures,
    }


# --- the reader (this process) --------------------------------------------------------------


@dataclass
class Reader:
    """The one long-polling client: every event it got, with its arrival time."""

    http: httpx.AsyncClient
    cursor: str | None = None
    requests: int = 0

    def __post_init__(self) -> None:
        self.arrivals: list[tuple[Key, float]] = []

    async def page(self, wait: int) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": PAGE, "wait": wait}
        if self.cursor is not None:
            params["after"] = self.cursor
        response = await self.http.get(EVENTS, params=params)
        arrived = time.monotonic()
        self.requests += 1
        if response.status_code != 200:
            raise RuntimeError(f"feed: {response.status_code} {response.text[:200]}")
        body = response.json()
        self.cursor = body["meta"]["nextCursor"]
        events: list[dict[str, Any]] = body["data"]
        self.arrivals.extend(((e["type"], e["subjectId"]), arrived) for e in events)
        return events

    async def until_marker(self, code: str) -> None:
        """Long polls until the marker ``code`` (:func:`_marker`) has been read."""
        while not any(
            e["type"] == MARKER and e["data"].get("code") == code
            for e in await self.page(wait=WAIT)
        ):
            pass


async def _marker(http: httpx.AsyncClient, code: str) -> None:
    """A result type created once every earlier request had its answer: its transaction began
    after theirs committed, so the feed delivers it after all of their events. ``START`` ends
    the warm-up (the reader reads up to it, unmeasured); ``END`` ends the run (the reader stops
    on it, with no long poll left open)."""
    body = {"code": code, "label": f"feed bench {code.lower()}"}
    (await http.post(RESULT_TYPES, json=body)).raise_for_status()


HORIZON = """
SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start))
                FILTER (WHERE datname IS DISTINCT FROM current_database()), 0)::float8,
       coalesce(max(extract(epoch FROM clock_timestamp() - xact_start))
                FILTER (WHERE datname = current_database()), 0)::float8
FROM pg_stat_activity
WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
"""
"""The oldest writing transaction in other databases of the server and in this one (seconds):
PostgreSQL's transaction ids are server-wide, so any of them holds the feed's horizon back."""


async def _watch_horizon(url: str, oldest: list[float], stop: asyncio.Event) -> None:
    """Samples :data:`HORIZON` every 50 ms into ``oldest`` (max other, max own) until ``stop``."""
    connection = await asyncpg.connect(url)
    try:
        while not stop.is_set():
            other, own = await connection.fetchrow(HORIZON)
            oldest[0], oldest[1] = max(oldest[0], other), max(oldest[1], own)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        await connection.close()


async def _measure(
    url: str, port: int, server_pid: int, key: str, writers: int, seconds: float
) -> dict[str, Any]:
    oldest = [0.0, 0.0]
    stop = asyncio.Event()
    watching = asyncio.create_task(_watch_horizon(url, oldest, stop))
    try:
        report = await _follow_while_writing(port, server_pid, key, writers, seconds)
    finally:
        stop.set()
        await watching
    report["oldest_other_s"], report["oldest_own_s"] = oldest
    return report


async def _follow_while_writing(
    port: int, server_pid: int, key: str, writers: int, seconds: float
) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"x-api-key": key}, timeout=WAIT + 10
    ) as http:
        await _warm_up(http)
        await _marker(http, START)
        reader = Reader(http)
        waited = time.monotonic()
        try:
            await asyncio.wait_for(reader.until_marker(START), QUIET_GUARD)
        except TimeoutError:
            raise SystemExit(
                f"feed bench: the feed stood still for {QUIET_GUARD:.0f} s: a writing "
                "transaction open elsewhere on the PostgreSQL server holds it back"
            ) from None
        if time.monotonic() - waited > 1:
            print(f"feed: waited {time.monotonic() - waited:.1f} s for the feed to move on")
        reader.arrivals.clear()
        reader.requests = 0
        following = asyncio.create_task(reader.until_marker(END))
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [
                "taskset", "-c", LOAD_CORE, sys.executable, "-m", "bench.feed", "--write",
                "--port", str(port), "--writers", str(writers),
                "--seconds", str(seconds), "--out", out.name,
            ]  # fmt: skip
            cpu_before = cpu_seconds(server_pid)
            process = await asyncio.create_subprocess_exec(
                *command, cwd=Path(__file__).parent.parent, env={**os.environ, KEY_VARIABLE: key}
            )
            await asyncio.wait_for(process.wait(), seconds + 60)
            server_cpu = cpu_seconds(server_pid) - cpu_before
            if process.returncode:
                following.cancel()
                raise SystemExit(f"feed bench: the writer process exited with {process.returncode}")
            report: dict[str, Any] = json.loads(await asyncio.to_thread(Path(out.name).read_text))
            report["server_cpu_s"] = server_cpu
        await _marker(http, END)
        drained = True
        try:
            await asyncio.wait_for(asyncio.shield(following), DRAIN_GUARD)
        except TimeoutError:
            drained = False
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
        except RuntimeError as error:
            raise SystemExit(f"feed bench: the reader failed: {error}") from None
    report["arrivals"] = [(k, t) for k, t in reader.arrivals if k[0] != MARKER]
    report["reader_requests"] = reader.requests
    report["drained"] = drained
    return report


@dataclass
class FeedFigures:
    written: Measurement
    read: Measurement
    upper_p50_ms: float
    upper_p99_ms: float
    below_answer: float
    """Share of events the reader got before their writer got its answer."""
    missing: int
    repeated: int
    unexpected: dict[str, int]
    """Events read that no writer wrote, by type."""
    reader_requests: int
    failures: list[str]


def figures(report: dict[str, Any], writers: int) -> FeedFigures:
    written: dict[Key, tuple[float, float]] = {
        (kind, subject): (sent, answered) for kind, subject, sent, answered in report["written"]
    }
    first: dict[Key, float] = {}
    repeated = 0
    unexpected: dict[str, int] = {}
    for (kind, subject), arrived in report["arrivals"]:
        key = (kind, subject)
        if key in first:
            repeated += 1
        elif key not in written:
            unexpected[kind] = unexpected.get(kind, 0) + 1
        else:
            first[key] = arrived
    missing = len(set(written) - set(first))
    lower = [max(0.0, (first[k] - answered) * 1000) for k, (_, answered) in written.items()
             if k in first]  # fmt: skip
    upper = [(first[k] - sent) * 1000 for k, (sent, _) in written.items() if k in first]
    early = sum(1 for k, (_, answered) in written.items() if k in first and first[k] < answered)
    started = float(report["started"])
    write_seconds = max(float(report["ended"]) - started, 1e-9)
    read_seconds = max(max(first.values(), default=started) - started, 1e-9)
    latencies = [float(ms) for _, ms in report["latencies"]]
    write = Measurement(
        write_row(writers),
        len(written) / write_seconds,
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        len(report["failures"]),
        cpu_ms=1000 * float(report["server_cpu_s"]) / len(latencies) if latencies else None,
    )
    read = Measurement(
        READ_ROW,
        len(first) / read_seconds,
        percentile(lower, 0.50),
        percentile(lower, 0.99),
        missing + repeated + sum(unexpected.values()),
    )
    if write.requests_per_second:
        read.ratio = read.requests_per_second / write.requests_per_second
        read.limit_name = (
            f"{write.name.split(' (')[0]}; commit→read ≤ read − request sent: "
            f"p50 {percentile(upper, 0.50):.2f}, p99 {percentile(upper, 0.99):.2f} ms"
        )
    return FeedFigures(
        written=write,
        read=read,
        upper_p50_ms=percentile(upper, 0.50),
        upper_p99_ms=percentile(upper, 0.99),
        below_answer=early / len(first) if first else 0.0,
        missing=missing,
        repeated=repeated,
        unexpected=unexpected,
        reader_requests=int(report["reader_requests"]),
        failures=list(report["failures"]),
    )


def measure(
    postgres: str, *, writers: int = WRITERS, seconds: float = SECONDS
) -> tuple[list[Measurement], float]:
    """The two feed rows (written, then read, its ratio to written) and the server's peak RSS."""
    from taskbridge.config import Settings
    from taskbridge.migrations import upgrade

    url = feed_url(postgres)
    asyncio.run(_reset(url))
    upgrade(Settings(database_url=url))
    key = asyncio.run(_tenant(url))
    env = {"TASKBRIDGE_DATABASE_URL": url, **NO_LIMITS}
    wait_for_other_loads()
    affinity = os.sched_getaffinity(0)
    with running_server("taskbridge.app:create_app", factory=True, env=env) as (port, server):
        os.sched_setaffinity(0, {int(LOAD_CORE)})
        try:
            report = uvloop.run(_measure(url, port, server.pid, key, writers, seconds))
        finally:
            os.sched_setaffinity(0, affinity)
        rss = peak_rss_mb(server)
    found = figures(report, writers)
    print(
        f"feed: {len(report['written'])} events written by {writers} clients in "
        f"{float(report['ended']) - float(report['started']):.1f} s, read in "
        f"{found.reader_requests} long polls; missing {found.missing}, repeated "
        f"{found.repeated}, unexpected {found.unexpected or 0}, writer failures "
        f"{len(found.failures)}; {found.below_answer:.0%} read before their writer's answer; "
        f"commit→read upper bound (read − request sent) p50 {found.upper_p50_ms:.2f} ms, "
        f"p99 {found.upper_p99_ms:.2f} ms"
        + ("" if report["drained"] else f"; NOT all read within {DRAIN_GUARD:.0f} s")
        + f"; oldest writing transaction seen: {report['oldest_own_s'] * 1000:.0f} ms in this "
        f"database, {report['oldest_other_s'] * 1000:.0f} ms in other databases of the server"
    )
    for path in (TASKS, RESULTS):
        ms = [float(v) for p, v in report["latencies"] if p == path]
        print(f"feed: POST {path}: {len(ms)} requests, p50 {percentile(ms, 0.5):.2f} ms, "
              f"p99 {percentile(ms, 0.99):.2f} ms")  # fmt: skip
    for failure in found.failures[:3]:
        print(f"feed: writer failure: {failure}")
    return [found.written, found.read], rss


def main() -> None:
    parser = argparse.ArgumentParser(
        description="The event feed read by ONE long-polling client while writers run, on "
        "PostgreSQL: events read/s beside events written/s, commit→read delay (bench/README.md)."
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/taskbridge_bench"
        ),
        help=f"the PostgreSQL server (its database {FEED_DATABASE} is wiped and used)",
    )
    parser.add_argument("--writers", type=int, default=WRITERS, help="concurrent writer clients")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="how long they write")
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        key = os.environ[KEY_VARIABLE]
        report = uvloop.run(_write(args.port, key, args.writers, args.seconds))
        Path(args.out).write_text(json.dumps(report))
        return
    from bench.run import render

    rows, rss = measure(args.postgres, writers=args.writers, seconds=args.seconds)
    print(render(rows, rss))


if __name__ == "__main__":
    main()
