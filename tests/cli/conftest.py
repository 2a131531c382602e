"""The CLI against the test database.

Every test is ``async`` (so it can also use the ``client`` and ``session_factory`` fixtures) and
runs the CLI in a worker thread: commands call ``asyncio.run`` and cannot share the test's loop.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from taskbridge.cli import app
from taskbridge.config import Settings


@dataclass(frozen=True)
class Cli:
    """``await cli("tenant", "create", ...)``: the CLI as a user runs it, on the test database."""

    env: dict[str, str]

    async def __call__(self, *args: str) -> Result:
        runner = CliRunner(env=self.env)
        return await asyncio.to_thread(lambda: runner.invoke(app, list(args)))

    async def ok(self, *args: str) -> Result:
        """Run a command that must succeed."""
        result = await self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    async def json(self, *args: str) -> dict[str, Any]:
        """Run a ``--json`` command: stdout must be exactly one JSON object."""
        result = await self.ok(*args, "--json")
        payload = json.loads(result.stdout)
        assert isinstance(payload, dict)
        assert result.stdout.count("\n") == 1
        return payload

    async def refused(self, *args: str) -> Result:
        """Run a command that must fail with a reason on stderr and nothing on stdout."""
        result = await self(*args)
        assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
        assert result.stdout == ""
        assert result.stderr.strip()
        assert "Traceback" not in result.stderr
        return result


def database_env(settings: Settings) -> dict[str, str]:
    return {
        "TASKBRIDGE_DATABASE_URL": settings.resolved_database_url(),
        "TASKBRIDGE_DATA_DIR": str(settings.data_dir),
    }


@pytest.fixture
def cli(settings: Settings) -> Cli:
    return Cli(env=database_env(settings))


@pytest.fixture
async def acme(cli: Cli) -> str:
    """Tenant ``acme``, created through the CLI; its slug."""
    await cli.ok("tenant", "create", "--name", "Acme", "--slug", "acme")
    return "acme"


def write_csv(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)
