"""``python -m fuzz.run`` (``make fuzz``): seed a database, serve it, and run schemathesis against
the served ``/openapi.json`` once per kind of caller; one line per database and caller, exit 1 on
any failure.

The server is a real ``taskbridge serve`` process on loopback (what integrators reach: uvicorn's
HTTP parsing and error paths included), one per database; the two databases are fuzzed at the same
time, one core each. Each caller fuzzes a tenant of its own, so what one run changes cannot steer
another.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests.create_database import ensure_database
from tests.servers import Server, server_env, start_server, stop, wait_for

from fuzz import config, report, world
from fuzz.hooks import PROTECTED_IDS_VARIABLE
from taskbridge.config import Settings
from taskbridge.migrations import upgrade

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
ROOT = Path(__file__).resolve().parent.parent
RUN_DEADLINE_SECONDS = 600
"""A hang guard for one schemathesis run, far above its budget."""
EVERY_PHASE = "examples,coverage,fuzzing,stateful"
ANONYMOUS_PHASES = "examples,fuzzing"
"""Without credentials every tenant route answers 401 before it reads its input: the coverage
phase's thousands of boundary values would all be the same 401. The routes that take no
credentials (sign-in, refresh, sign-out) get their coverage in the other callers' runs."""
_printing = threading.Lock()
_migrating = threading.Lock()
"""Alembic keeps the running migration in module globals: one upgrade at a time."""
_children: set[subprocess.Popen[bytes]] = set()
"""Servers and schemathesis runs alive now: ended with the run if it is stopped (SIGTERM)."""
_stopping = threading.Event()


@dataclass(frozen=True)
class Caller:
    """A kind of caller: its name, its headers, its tenant (None: none), its phases."""

    name: str
    credential: config.Credential | None
    tenant: world.Tenant | None
    headers: dict[str, str] = field(default_factory=dict)
    phases: str = EVERY_PHASE
    protected_ids: tuple[str, ...] = ()


def _reset_postgres(url: str) -> None:
    async def reset() -> None:
        await ensure_database(url)
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


def _settings(database: str, folder: Path, pg_url: str) -> Settings:
    """A migrated, empty database: a new SQLite file, or the PostgreSQL database emptied."""
    data_dir = folder / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if database == "sqlite":
        settings = Settings(data_dir=data_dir)
    else:
        settings = Settings(database_url=pg_url, data_dir=data_dir)
        _reset_postgres(settings.resolved_database_url())
    with _migrating:
        upgrade(settings)
    return settings


@contextmanager
def _serving(settings: Settings, folder: Path) -> Iterator[Server]:
    # Dispatch endpoints on loopback: the seeded webhook, and fuzzed URLs, never leave the machine.
    # The event feed holds an empty read up to `wait` seconds (30): every generated case that reads
    # past the seeded events (a cursor taken from a response, a type nothing has) would cost that
    # long, so the served feed never holds a read (TASKBRIDGE_EVENT_MAX_WAIT_SECONDS=0: answers
    # stay the same, only sooner). Long polling itself is tested in tests/events/.
    env = server_env(
        settings,
        TASKBRIDGE_DISPATCH_ALLOW_PRIVATE_NETWORKS="true",
        TASKBRIDGE_EVENT_MAX_WAIT_SECONDS="0",
    )
    server = start_server(env, folder)
    _children.add(server.process)
    try:
        wait_for([server])
        yield server
    finally:
        stop([server.process])
        _children.discard(server.process)


def _callers(base_url: str, made: world.Bootstrap) -> list[Caller]:
    for tenant in (made.key_tenant, made.bearer_tenant):
        world.seed(base_url, tenant)
    token = world.log_in(base_url)
    return [
        Caller(
            "api-key",
            config.Credential("apiKey", made.key_tenant.key),
            made.key_tenant,
            # Its own key: revoking it would turn the rest of the run into 401s.
            protected_ids=(made.key_tenant.key_id,),
        ),
        Caller(
            "bearer",
            config.Credential("bearer", token),
            made.bearer_tenant,
            headers={"x-tenant-id": made.bearer_tenant.id},
            # Its own account: a role change or a password reset would end the run's session.
            protected_ids=(made.user_id,),
        ),
        Caller("anonymous", None, None, phases=ANONYMOUS_PHASES),
    ]


def _command(server: Server, caller: Caller, run_dir: Path, args: argparse.Namespace) -> list[str]:
    schemes = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    schemes = schemes.get("components", {}).get("securitySchemes", {})
    credential = caller.credential
    scheme = credential.scheme(schemes) if credential is not None else None
    headers = dict(caller.headers)
    if credential is not None and scheme is None:
        headers.update(credential.header())
    return [
        SCHEMATHESIS,
        "--config-file",
        str(config.write(run_dir, caller.tenant, scheme, credential)),
        "run",
        f"{server.url}/openapi.json",
        "--phases",
        caller.phases,
        "--seed",
        str(args.seed),
        "--max-examples",
        str(args.max_examples),
        "--workers",
        "1",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(run_dir / "events.ndjson"),
        "--no-color",
        *shlex.split(args.schemathesis),
        *(option for name, value in headers.items() for option in ("-H", f"{name}: {value}")),
    ]


def _fuzz(server: Server, caller: Caller, folder: Path, args: argparse.Namespace) -> report.Outcome:
    run_dir = folder / caller.name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    env = {
        **os.environ,
        # schemathesis imports fuzz.hooks; its working directory (where it and Hypothesis keep
        # their files) is the run's folder, not the repository.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        PROTECTED_IDS_VARIABLE: ",".join(caller.protected_ids),
        config.CREDENTIAL_VARIABLE: caller.credential.secret if caller.credential else "",
    }
    started = time.monotonic()
    late = False
    with (run_dir / "schemathesis.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            _command(server, caller, run_dir, args),
            env=env,
            cwd=run_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _children.add(process)
        try:
            process.wait(timeout=RUN_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            late = True
            stop([process])
        finally:
            _children.discard(process)
    outcome = report.read(run_dir / "events.ndjson", time.monotonic() - started)
    if late:
        outcome.errors.append(f"stopped after {RUN_DEADLINE_SECONDS} s (the hang guard)")
    return outcome


def _show(label: str, outcome: report.Outcome, log: Path) -> None:
    with _printing:
        print(outcome.summary(label) + ("" if outcome.passed else f"; {log}"), flush=True)


def fuzz_database(
    database: str, args: argparse.Namespace, folder: Path
) -> list[tuple[str, report.Outcome]]:
    """Every caller's run on one database, each shown as it ends."""
    settings = _settings(database, folder, args.pg_url)
    made = asyncio.run(world.bootstrap(settings))
    outcomes: list[tuple[str, report.Outcome]] = []
    with _serving(settings, folder) as server:
        for caller in _callers(server.url, made):
            if _stopping.is_set():
                break
            if caller.name not in args.callers.split(","):
                continue
            outcome = _fuzz(server, caller, folder, args)
            label = f"{database:<8} {caller.name:<9}"
            _show(label, outcome, folder / caller.name / "schemathesis.log")
            outcomes.append((label, outcome))
    return outcomes


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--callers", default="api-key,bearer,anonymous")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/taskbridge_fuzz")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="Keep the logs and reports here.")
    parser.add_argument(
        "--schemathesis",
        default="",
        help="More options for `schemathesis run`, e.g. '--include-path-regex /api/users'.",
    )
    return parser.parse_args()


def _stop(signum: int, frame: object) -> None:
    """SIGTERM (a CI timeout, a Ctrl-C elsewhere): end every child, leave no server behind."""
    _stopping.set()
    for process in list(_children):
        process.terminate()
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    args = _arguments()
    folder = args.out or Path(tempfile.mkdtemp(prefix="taskbridge-fuzz-"))
    started, cpu = time.monotonic(), os.times()
    databases = args.databases.split(",")
    with ThreadPoolExecutor(max_workers=len(databases)) as pool:
        runs = [pool.submit(fuzz_database, db, args, folder / db) for db in databases]
        outcomes = [line for run in runs for line in run.result()]
    spent = os.times()
    cpu_seconds = sum(spent[:4]) - sum(cpu[:4])
    print(
        f"== fuzz: {time.monotonic() - started:.0f} s ({cpu_seconds:.0f} s of CPU); "
        f"seed {args.seed}, {args.max_examples} examples per operation; reports in {folder}"
    )
    passed = all(outcome.passed for _, outcome in outcomes)
    if not passed:
        print("== failures by check and operation (cases; runs) | what the server said in one:")
        report.print_grouped(outcomes)
    for label, outcome in outcomes:
        print(outcome.summary(label))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
