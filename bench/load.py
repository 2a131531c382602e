"""Servers pinned to one core, wrk pinned to the other, and the numbers they print."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).parent
SERVER_CORE = "0"
LOAD_CORE = "1"
CONNECTIONS = 64
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Measurement:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    limit_name: str | None = None
    ratio: float | None = None
    cpu_ms: float | None = None
    """The server process's CPU time per request over the measured run (user + system): unlike
    requests/s, it barely moves with what else the machine is doing."""
    cpu_ratio: float | None = None
    """The limit's ``cpu_ms`` over this row's: the ratio of the work each request costs."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port} within {timeout}s")


def server_command(target: str, port: int, *, factory: bool) -> list[str]:
    """The production server invocation (same options for the limit and for taskbridge)."""
    command = [
        "taskset", "-c", SERVER_CORE, sys.executable, "-m", "uvicorn", target,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if factory:
        command.append("--factory")
    return command


@contextmanager
def running_server(
    target: str, *, factory: bool, env: Mapping[str, str] | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        server_command(target, port, factory=factory),
        env={**os.environ, **(env or {})},
        cwd=HERE.parent,
    )
    try:
        _wait_until_listening(port, process)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def peak_rss_mb(process: subprocess.Popen[bytes]) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wait_for_other_loads(timeout: float = 300) -> None:
    """Waits (at most ``timeout`` seconds) while another ``wrk`` runs on this machine: a row
    measured beside someone else's load compares with nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-x", "wrk"], capture_output=True, check=False).returncode:
            return
        time.sleep(1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    name: str,
    port: int,
    script: str,
    args: list[str],
    *,
    duration: int = 10,
    warmup: int = 2,
    server_pid: int | None = None,
) -> Measurement:
    """``wrk -t1 -c64`` pinned to the load core; a short warm-up run first. With
    ``server_pid``, the server's CPU time per request is measured too."""
    wait_for_other_loads()
    url = f"http://127.0.0.1:{port}"
    base = [
        "taskset",
        "-c",
        LOAD_CORE,
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        "--latency",
        "--timeout",
        "10s",
    ]
    script_args = ["-s", str(HERE / "lua" / script), url, "--", *args]
    if warmup:
        subprocess.run([*base, f"-d{warmup}s", *script_args], capture_output=True, check=True)
    cpu_before = None if server_pid is None else cpu_seconds(server_pid)
    out = subprocess.run(
        [*base, f"-d{duration}s", *script_args], capture_output=True, text=True, check=True
    ).stdout
    cpu_used = None if server_pid is None else cpu_seconds(server_pid) - (cpu_before or 0.0)
    requests = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    error_count = int(errors.group(1)) if errors else 0
    if socket_errors:
        error_count += sum(int(g) for g in socket_errors.groups())
    return Measurement(
        name=name,
        requests_per_second=float(rps.group(1)) if rps else 0.0,
        p50_ms=_latency_ms(out, "50"),
        p99_ms=_latency_ms(out, "99"),
        errors=error_count,
        cpu_ms=None
        if cpu_used is None or requests is None or not int(requests.group(1))
        else 1000 * cpu_used / int(requests.group(1)),
    )
