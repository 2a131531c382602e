"""Prometheus metrics with no domain knowledge: HTTP requests by route template, the database pool
in use, and the exposition of every metric of the process group.

**HTTP.** :class:`HttpMetrics` counts every answer (``taskbridge_http_requests_total``) and times
it (``taskbridge_http_request_duration_seconds``) by method, *route template* and status. A raw
path would give one series per id ever requested, a memory leak in every process and in
Prometheus; the template (``/api/commerces/{commerce_id}``) is bounded by the code. It is read
after the app answered from ``scope["route"]``, which routing sets (mounted apps prefixed by their
mount: ``/admin/tasks/{task_id}``); an answer given before routing names its template in
``scope[ROUTE_TEMPLATE]`` (the configs fast path); anything else (no route matched, a 413 refused
before routing) is :data:`UNMATCHED`. Methods outside :data:`METHODS` are ``OTHER``, so no label
takes a client's arbitrary text.

**Several processes.** ``taskbridge serve --workers N`` runs N processes; each answering
``/metrics`` for itself would show one N-th of the traffic, a different N-th per scrape.
prometheus_client's multiprocess mode makes every process write its values into files of one
directory (``PROMETHEUS_MULTIPROC_DIR``), and the exposition merges them: counters and histograms
are summed over the group (a worker that died still counts: its requests happened), gauges by
their ``multiprocess_mode``. The variable must be set before prometheus_client is imported, so
``serve`` sets it, in a fresh private directory, before it starts the workers
(:func:`use_multiprocess_directory`). One process alone keeps prometheus_client's ordinary in-memory
registry.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Mount
from starlette.types import Scope

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own switch, read by prometheus_client itself when it is imported: not a
``TASKBRIDGE_*`` setting, since a value from the settings' env file would not reach it."""
ROUTE_TEMPLATE = "taskbridge.route_template"
"""Scope key where a layer that answers before routing names the template of what it answered."""
UNMATCHED = "<unmatched>"
"""The route label of an answer no route produced: a path no route serves, or a refusal made
before routing (a body over the limit)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"

HTTP_REQUESTS = Counter(
    "taskbridge_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "taskbridge_http_request_duration_seconds",
    "Time from a request's arrival to its last response byte, by method and route template",
    ["method", "route"],
    # From the configs fast path (~0.1 ms) to a large CSV import (tens of seconds).
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
POOL_IN_USE = Gauge(
    "taskbridge_db_pool_connections_in_use",
    "Database connections checked out of the pools, summed over the live server processes",
    multiprocess_mode="livesum",
)

_Series = tuple[Any, Any]
"""The counter and histogram children of one (route, method, status)."""


class HttpMetrics:
    """Counts and times HTTP answers: :meth:`observe` is called by the outermost layer
    (:class:`taskbridge.kit.request_id.RequestIds`), which already wraps every answer, the ones
    given before routing included, so counting costs no layer and no send wrapper of its own.
    Per request: one dict lookup, a counter and a histogram update."""

    def __init__(self) -> None:
        self._series: dict[tuple[str | int, str, int], _Series] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """One answer of ``status`` to the request of ``scope``, ``seconds`` after it arrived."""
        method: str = scope["method"]
        if method not in METHODS:
            method = OTHER_METHOD
        # Route objects (unhashable, compared by value) are the app's own, created once and kept
        # as long as it: their ids are as bounded as the code.
        key = (scope.get(ROUTE_TEMPLATE) or id(scope.get("route")), method, status)
        series = self._series.get(key)
        if series is None:
            template = route_template(scope)
            series = self._series[key] = (
                HTTP_REQUESTS.labels(method, template, str(status)),
                HTTP_SECONDS.labels(method, template),
            )
        series[0].inc()
        series[1].observe(seconds)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (see the module's docstring)."""
    named = scope.get(ROUTE_TEMPLATE)
    if isinstance(named, str):
        return named
    route = scope.get("route")
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return UNMATCHED
    # Each mount passed on the way appended its path to root_path (the server's own root_path,
    # kept in app_root_path, excepted). Mounts here have no parameters, so this is a template.
    root_path: str = scope.get("root_path", "")
    prefix = root_path.removeprefix(scope.get("app_root_path", ""))
    if isinstance(route, Mount):  # the mounted app matched nothing further: its own 404
        return prefix + "/{path}"
    return prefix + path_format


def watch_pool(engine: AsyncEngine) -> None:
    """Keep :data:`POOL_IN_USE` current for this process as connections are checked out and in:
    with several processes, the scrape's answerer cannot read the others' pools."""

    def checked_out(*_args: object) -> None:
        POOL_IN_USE.inc()

    def checked_in(*_args: object) -> None:
        POOL_IN_USE.dec()

    event.listen(engine.sync_engine, "checkout", checked_out)
    event.listen(engine.sync_engine, "checkin", checked_in)


def record_pool(engine: AsyncEngine) -> None:
    """Set this process's :data:`POOL_IN_USE` from its pool (QueuePool and its async variant,
    on SQLite as on PostgreSQL), correcting any drift of the events (a connection detached
    without a check-in)."""
    checkedout = getattr(engine.sync_engine.pool, "checkedout", None)
    if callable(checkedout):
        POOL_IN_USE.set(checkedout())


def is_multiprocess() -> bool:
    """Whether prometheus_client was imported in multiprocess mode (it decides once, then)."""
    return values.ValueClass is not values.MutexValue


def exposition() -> bytes:
    """Every metric in Prometheus' text format: the process group's in multiprocess mode, this
    process's otherwise."""
    if not is_multiprocess():
        return generate_latest(REGISTRY)
    directory = os.environ[MULTIPROCESS_VARIABLE]
    forget_dead_processes(Path(directory))
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def forget_dead_processes(directory: Path) -> None:
    """Drop the live gauges of processes that are gone (a worker killed and replaced by uvicorn's
    supervisor never ran its own clean-up), so the pool in use counts live processes only."""
    pids = {
        int(found.group(1))
        for path in directory.iterdir()
        if (found := _LIVE_GAUGE_FILE.fullmatch(path.name)) is not None
    }
    for pid in pids:
        if not _is_alive(pid):
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process reusing the number
        return True
    return True


def use_multiprocess_directory(processes: int) -> None:
    """For a server of several processes: a fresh private directory (mode 0700) for their metric
    files, named in :data:`MULTIPROCESS_VARIABLE` for the processes started from now on, and
    removed when this process exits. An operator's own directory is used as given and left in
    place (it must be emptied between runs); one process needs none."""
    if processes == 1 or os.environ.get(MULTIPROCESS_VARIABLE):
        return
    directory = tempfile.mkdtemp(prefix="taskbridge-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


def is_loopback(client: tuple[str, int] | None) -> bool:
    """Whether a request's client (``scope["client"]``, the forwarded address when uvicorn
    believes a proxy's X-Forwarded-For) is this machine."""
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
