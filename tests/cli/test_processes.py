"""The installed ``taskbridge`` script in real processes, on fresh SQLite files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

SCRIPT = str(Path(sys.executable).with_name("taskbridge"))
CONFIGS = "/api/integration/task-result-type-configs"


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    env["TASKBRIDGE_DATABASE_URL"] = f"sqlite:///{folder / 'db' / 'taskbridge.db'}"
    env["TASKBRIDGE_DATA_DIR"] = str(folder / "data")
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_db_upgrade_then_demo_twice(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for _ in range(2):
        upgraded = _run(env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert upgraded.stdout.startswith("Database is up to date: sqlite+aiosqlite:///")
    assert (tmp_path / "db" / "taskbridge.db").is_file()

    outputs = []
    for _ in range(2):
        demo = _run(env, "demo", "--json")
        assert demo.returncode == 0, demo.stderr
        outputs.append(json.loads(demo.stdout))
    assert outputs[0]["tenant"] == outputs[1]["tenant"]
    assert outputs[0]["plaintextKey"] != outputs[1]["plaintextKey"]
    listed = _run(env, "result-type", "list", "--tenant", "demo", "--json")
    codes = [rt["code"] for rt in json.loads(listed.stdout)["data"]]
    assert codes == ["SALE_COMPLETED", "NOT_INTERESTED", "RESCHEDULE", "NO_CONTACT"]


def test_commands_on_a_database_never_migrated(tmp_path: Path) -> None:
    result = _run(_env(tmp_path), "tenant", "create", "--name", "Acme", "--slug", "acme")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("database error: no such table: tenants")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_migrates_and_answers_with_the_demo_key(tmp_path: Path) -> None:
    env = _env(tmp_path)
    port = _free_port()
    server = subprocess.Popen(
        [SCRIPT, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90  # a hang guard: CI machines are shared and slow
        while True:
            try:
                anonymous = httpx.get(base_url + CONFIGS, timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert anonymous.status_code == 401
        demo = _run(env, "demo", "--json", "--base-url", base_url)
        assert demo.returncode == 0, demo.stderr
        key = json.loads(demo.stdout)["plaintextKey"]
        configs = httpx.get(base_url + CONFIGS, headers={"x-api-key": key}, timeout=5)
        assert [c["code"] for c in configs.json()] == [
            "SALE_COMPLETED",
            "NOT_INTERESTED",
            "RESCHEDULE",
            "NO_CONTACT",
        ]
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_bar_only_on_a_terminal_and_never_on_stdout(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _run(env, "db", "upgrade").returncode == 0
    assert _run(env, "tenant", "create", "--name", "Acme", "--slug", "acme").returncode == 0
    csv_path = tmp_path / "commerces.csv"
    csv_path.write_text("external_id,name\n" + "".join(f"C{i},Store {i}\n" for i in range(50)))

    piped = _run(env, "import", "commerces", "--tenant", "acme", str(csv_path), "--json")
    assert piped.stderr == ""
    assert json.loads(piped.stdout)["created"] == 50

    controller, terminal = os.openpty()
    try:
        watched = subprocess.run(
            [SCRIPT, "import", "commerces", "--tenant", "acme", str(csv_path), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=60,
            check=False,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert watched.returncode == 0
    assert json.loads(watched.stdout)["updated"] == 50
    assert "Importing commerces" in shown.decode()
