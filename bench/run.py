"""``make bench``: every figure beside its limit, measured in the same run.

Prints a markdown table and writes ``bench/results/latest.json``. Absolute numbers drift between
runs and machines; the ratios are what carry over.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import urllib.request
from pathlib import Path

from bench import dataset, feed
from bench.db_limit import sqlite_rate, transaction_rate
from bench.load import Measurement, peak_rss_mb, run_wrk, running_server
from taskbridge.config import Settings
from taskbridge.migrations import upgrade

RESULTS = Path(__file__).parent / "results"
CONFIGS = "/api/integration/task-result-type-configs"
TASKS = "/api/integration/activities/tasks"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/taskbridge_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
NO_LIMITS = {"TASKBRIDGE_RATE_LIMIT_PER_KEY": "", "TASKBRIDGE_RATE_LIMIT_PER_TENANT": ""}
"""Every row but the rate-limited ones measures the route alone, as before rate limits existed."""
NEVER_REACHED = "100000000/minute"
"""Rate limits counted on every request but never refusing one: the rows measure their cost."""
CONFIGS_LIMITED = "PG GET configs, rate limits on (Redis)"
CONFIGS_LIMITED_IN_MEMORY = "PG GET configs, rate limits on (memory, one process)"
FIRST_PAGE = "PG GET tasks first page (20)"
DEEP_PAGE = "PG GET tasks deep page (cursor, 20)"
SQLITE_PAGE = "SQLite GET tasks first page (20, 100,000 tasks)"
SQLITE_POST = "SQLite POST result"
PG_POST = "PG POST result"
BARE_POST = "bare POST, lock + supersede + one statement (limit)"
VARYING = ("id", "activityId", "commerceExternalId", "createdAt")
"""What two submissions' answers may differ in: the new result, its task and commerce, when it
was stored."""
POST_LIMIT = "asyncpg transaction, same writes (limit)"
PAGE_LIMIT_NAMES = {
    FIRST_PAGE: "bare page, one statement (limit)",
    DEEP_PAGE: "bare deep page, one statement (limit)",
}


def _wanted(args: argparse.Namespace, name: str) -> bool:
    return not args.only or any(part.lower() in name.lower() for part in args.only)


def _ratio(m: Measurement, limit: Measurement | None) -> Measurement:
    if limit is not None and limit.requests_per_second:
        m.limit_name = limit.name
        m.ratio = m.requests_per_second / limit.requests_per_second
    return m


def _cpu_columns(m: Measurement) -> str:
    cpu = "" if m.cpu_ms is None else f"{m.cpu_ms:.3f}"
    ratio = "" if m.cpu_ratio is None else f"{m.cpu_ratio:.2f}"
    return f"{cpu} | {ratio}"


def _body(port: int, key: str, path: str) -> bytes:
    """One GET's status and body (a hang guard of 10 s)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"x-api-key": key})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (http on loopback)
        body: bytes = response.read()
        return body


def _measure(
    name: str,
    script: str,
    args: list[str],
    env: dict[str, str],
    *,
    warmup: int = 2,
    expected: bytes | None = None,
    expected_post: tuple[dict[str, object], str] | None = None,
) -> tuple[Measurement, float]:
    """One scenario on a fresh server, so a slow scenario's backlog cannot spill into the next.

    With ``expected`` (its limit's answer), the server's answer must be those bytes, or the
    benchmark stops: a ratio to a limit that renders something else would mean nothing. With
    ``expected_post`` (the limit's answer to a POST, and a task to POST for), the same for a
    submission, but for what two submissions' answers differ in (:data:`VARYING`)."""
    with running_server("taskbridge.app:create_app", factory=True, env=env) as (port, server):
        if expected_post is not None:
            limit_answer, line = expected_post
            got_post = _post(port, args[0], line)
            if _comparable(got_post) != _comparable(limit_answer):
                raise SystemExit(
                    f"{name}: taskbridge's answer differs from its limit's\n"
                    f"taskbridge: {got_post}\nlimit:      {limit_answer}"
                )
        if expected is not None:
            got = _body(port, args[0], args[1])
            if got != expected:
                raise SystemExit(
                    f"{name}: taskbridge's answer differs from its limit's\n"
                    f"taskbridge: {got[:600]!r}\nlimit:      {expected[:600]!r}"
                )
        measured = run_wrk(name, port, script, args, warmup=warmup, server_pid=server.pid)
        return measured, peak_rss_mb(server)


def _post(port: int, key: str, line: str) -> dict[str, object]:
    """One result POST for the task on ``line`` ("id,commerce"); its answer, parsed."""
    activity_id, commerce = line.split(",")
    body = json.dumps(
        {
            "activity_id": activity_id,
            "commerce_external_id": commerce,
            "occurred_at": "2026-01-01T00:00:00Z",
            "status": "EFFECTIVE",
            "task_result": {"result": "SALE_COMPLETED"},
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/integration/activity-results/tasks",
        data=body,
        headers={"x-api-key": key, "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        answer: dict[str, object] = json.loads(response.read())
        return answer


def _comparable(answer: dict[str, object]) -> list[tuple[str, object]]:
    return [(k, "…" if k in VARYING else v) for k, v in answer.items()]


def _post_limit(
    args: argparse.Namespace, tenant_id: str, lines: list[str]
) -> tuple[Measurement, dict[str, object]]:
    """The bare POST app (``bench/bare_post.py``), measured just before taskbridge's POST row:
    its measurement and its answer to the first task of ``lines`` (the rest are measured)."""
    env = {
        "BARE_POST_DSN": args.postgres.replace("postgresql+asyncpg://", "postgresql://"),
        "BARE_POST_TENANT": tenant_id,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as ids:
        ids.write("\n".join(lines[1:]))
    with running_server("bench.bare_post:app", factory=False, env=env) as (port, server):
        answer = _post(port, "-", lines[0])
        limit = run_wrk(
            BARE_POST, port, "submit.lua", ["-", ids.name], warmup=0, server_pid=server.pid
        )
        return limit, answer


def _page_limit(
    args: argparse.Namespace, tenant_id: str, name: str, path: str
) -> tuple[Measurement, bytes]:
    """The bare page app (``bench/bare_page.py``) on ``path``, measured just before the row
    ``name`` (the machine's load drifts): its measurement and the bytes it answered."""
    env = {
        "BARE_PAGE_DSN": args.postgres.replace("postgresql+asyncpg://", "postgresql://"),
        "BARE_PAGE_TENANT": tenant_id,
    }
    with running_server("bench.bare_page:app", factory=False, env=env) as (port, server):
        body = _body(port, "-", path)
        limit = run_wrk(PAGE_LIMIT_NAMES[name], port, "get.lua", ["-", path], server_pid=server.pid)
        return limit, body


def _postgres_rows(args: argparse.Namespace, limit: Measurement) -> tuple[list[Measurement], float]:
    settings = Settings(database_url=args.postgres)
    upgrade(settings)
    bench = asyncio.run(dataset.prepare(settings, args.tasks))
    deep = asyncio.run(dataset.deep_cursor(settings, bench.tenant_id, args.tasks // 2))
    ready = asyncio.run(dataset.ready_tasks(settings, bench.tenant_id, 3 * args.writes))
    http_ids, direct_ids = ready[: args.writes], ready[args.writes : 2 * args.writes]
    bare_ids = ready[2 * args.writes :]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as ids:
        ids.write("\n".join(http_ids[1:]))
    key = bench.key
    page_paths = {FIRST_PAGE: f"{TASKS}?per_page=20", DEEP_PAGE: f"{TASKS}?cursor={deep}"}
    scenarios: list[tuple[str, str, list[str]]] = [
        ("PG GET configs", "get.lua", [key, CONFIGS]),
        (CONFIGS_LIMITED, "get.lua", [key, CONFIGS]),
        (CONFIGS_LIMITED_IN_MEMORY, "get.lua", [key, CONFIGS]),
        (FIRST_PAGE, "get.lua", [key, page_paths[FIRST_PAGE]]),
        ("PG GET tasks first page (100)", "get.lua", [key, f"{TASKS}?per_page=100"]),
        (DEEP_PAGE, "get.lua", [key, page_paths[DEEP_PAGE]]),
        *(
            (f"PG GET tasks filtered ({query})", "get.lua", [key, f"{TASKS}?{query}"])
            for query in ("status=COMPLETED", "channel=SMS", "external_commerce_id=COM-0042")
        ),
        (
            f"PG GET tasks deep page (offset {args.tasks // 2}, 20)",
            "get.lua",
            [key, f"{TASKS}?page={args.tasks // 2 // 20}"],
        ),
        (PG_POST, "submit.lua", [key, ids.name]),
    ]
    env = {"TASKBRIDGE_DATABASE_URL": args.postgres, **NO_LIMITS}
    limited = {"TASKBRIDGE_RATE_LIMIT_PER_KEY": NEVER_REACHED}
    limited |= {"TASKBRIDGE_RATE_LIMIT_PER_TENANT": NEVER_REACHED}
    env_of = {
        CONFIGS_LIMITED: {**env, **limited, "TASKBRIDGE_REDIS_URL": args.redis},
        CONFIGS_LIMITED_IN_MEMORY: {**env, **limited},
    }
    rows: list[Measurement] = []
    rss = 0.0
    for name, script, script_args in scenarios:
        if not _wanted(args, name):
            continue
        page_limit = None
        if name in page_paths:
            page_limit = _page_limit(args, str(bench.tenant_id), name, page_paths[name])
        post_limit = None
        if name == PG_POST:
            post_limit = _post_limit(args, str(bench.tenant_id), bare_ids)
        measured, peak = _measure(
            name,
            script,
            script_args,
            env_of.get(name, env),
            warmup=0 if "POST" in name else 2,
            expected=None if page_limit is None else page_limit[1],
            expected_post=None if post_limit is None else (post_limit[1], http_ids[0]),
        )
        if post_limit is not None:
            _ratio(measured, post_limit[0])
            if measured.cpu_ms and post_limit[0].cpu_ms:
                measured.cpu_ratio = post_limit[0].cpu_ms / measured.cpu_ms
        rows.append(measured)
        if post_limit is not None:
            rows.append(post_limit[0])
        if page_limit is not None:
            _ratio(measured, page_limit[0])
            if measured.cpu_ms and page_limit[0].cpu_ms:
                measured.cpu_ratio = page_limit[0].cpu_ms / measured.cpu_ms
            rows.append(page_limit[0])
        rss = max(rss, peak)
    for row in rows:
        if row.name.startswith("PG GET configs"):
            _ratio(row, limit)
            # Its tail beside the limit's, in the same run (target: at most 3×).
            if limit.p99_ms:
                row.limit_name = f"{limit.name}; p99 {row.p99_ms / limit.p99_ms:.1f}× its p99"
    post = next((row for row in rows if row.name == PG_POST), None)
    if post is None:
        return rows, rss
    url = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
    half = len(direct_ids) // 2
    for name, same, lines in (
        (POST_LIMIT, True, direct_ids[:half]),
        ("asyncpg transaction, result + activity only", False, direct_ids[half:]),
    ):
        direct = asyncio.run(
            transaction_rate(url, bench.tenant_id, lines, concurrency=64, seconds=10, same=same)
        )
        db_limit = Measurement(name, direct["tps"], direct["p50_ms"], direct["p99_ms"], 0)
        # The target's limit (same writes) and the first benchmark's, for comparison.
        share = post.requests_per_second / db_limit.requests_per_second
        post.limit_name = f"{post.limit_name}; {share:.2f} of {name}"
        rows.append(db_limit)
    return rows, rss


def _sqlite_rows(args: argparse.Namespace) -> list[Measurement]:
    folder = Path(tempfile.mkdtemp(prefix="taskbridge-bench-"))
    settings = Settings(data_dir=folder)
    upgrade(settings)
    bench = asyncio.run(dataset.prepare(settings, 100_000))
    ready = asyncio.run(dataset.ready_tasks(settings, bench.tenant_id, 2 * args.writes))
    env = {"TASKBRIDGE_DATA_DIR": str(folder), "TASKBRIDGE_DATABASE_URL": "", **NO_LIMITS}
    rows: list[Measurement] = []
    if _wanted(args, SQLITE_PAGE):
        page, _ = _measure(SQLITE_PAGE, "get.lua", [bench.key, f"{TASKS}?per_page=20"], env)
        rows.append(page)
    if _wanted(args, SQLITE_POST):
        half = len(ready) // 2
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as ids:
            ids.write("\n".join(ready[:half]))
        with running_server("taskbridge.app:create_app", factory=True, env=env) as (port, server):
            script_args = [bench.key, ids.name]
            post = run_wrk(
                SQLITE_POST, port, "submit.lua", script_args, warmup=0, server_pid=server.pid
            )
        path = settings.resolved_database_url().split("///", 1)[1]
        direct = asyncio.run(sqlite_rate(path, bench.tenant_id, ready[half:], seconds=10))
        limit = Measurement(
            "sqlite3 in a thread, same writes (limit)",
            direct["tps"],
            direct["p50_ms"],
            direct["p99_ms"],
            0,
        )
        rows += [_ratio(post, limit), limit]
    return rows


def render(rows: list[Measurement], rss: float) -> str:
    lines = [
        "| Scenario | req/s | p50 ms | p99 ms | errors | ratio | to | CPU ms/req | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for m in rows:
        ratio = "" if m.ratio is None else f"{m.ratio:.2f}"
        lines.append(
            f"| {m.name} | {m.requests_per_second:,.0f} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | "
            f"{m.errors} | {ratio} | {m.limit_name or ''} | {_cpu_columns(m)} |"
        )
    lines.append(f"\nPeak RSS of the taskbridge server process: {rss:.0f} MB")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS), help="rate limits"
    )
    parser.add_argument("--tasks", type=int, default=int(os.environ.get("BENCH_TASKS", 1_000_000)))
    parser.add_argument("--writes", type=int, default=60_000, help="distinct tasks per write run")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="only scenarios whose name holds TEXT (repeatable); the limits run as needed",
    )
    args = parser.parse_args()

    with running_server("bench.bare_app:app", factory=False) as (port, _):
        limit = run_wrk("bare ASGI (limit)", port, "get.lua", ["-", CONFIGS])
    rows, rss = _postgres_rows(args, limit)
    if _wanted(args, feed.READ_ROW) or _wanted(args, feed.WRITE_ROW):
        feed_rows, feed_rss = feed.measure(args.postgres)  # its own database, wiped each run
        rows, rss = rows + feed_rows, max(rss, feed_rss)
    rows.insert(0, limit)
    if not args.skip_sqlite and (_wanted(args, SQLITE_POST) or _wanted(args, SQLITE_PAGE)):
        rows.extend(_sqlite_rows(args))
    table = render(rows, rss)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps({"rows": [m.as_dict() for m in rows], "peak_rss_mb": rss}, indent=2)
    )
    (RESULTS / "latest.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
