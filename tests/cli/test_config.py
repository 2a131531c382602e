"""``TASKBRIDGE_ENV_FILE``, ``taskbridge config show`` and start-up refusals, as an operator
running the command sees them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from taskbridge.cli import app
from taskbridge.config import Settings, env_variable
from tests.conftest import TEST_SECRET_KEY
from tests.servers import run_cli

SECRET_IN_FILE = "file-secret-key-of-more-than-32-bytes-0123"
DB_PASSWORD = "pg-pa55w0rd@with-at"
REDIS_PASSWORD = "redis-pa55w0rd"
METRICS_TOKEN = "metrics-token-0123456789"
MASK = "********"


def clean_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The process environment without any ``TASKBRIDGE_*`` of the test run, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TASKBRIDGE_")}
    return {**env, "TASKBRIDGE_DATA_DIR": str(tmp_path / "data"), **variables}


def env_file(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "taskbridge.env"
    path.write_text("\n".join(["# written by the test", *lines, ""]))
    return str(path)


def show(env: dict[str, str], *options: str) -> Result:
    """``taskbridge config show`` with exactly ``env`` as its environment."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    result = CliRunner(env={**unset, **env}).invoke(app, ["config", "show", *options])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert result.stderr == ""
    return result


def shown(result: Result) -> dict[str, str]:
    """``TASKBRIDGE_NAME=value`` lines as a mapping (each name once)."""
    pairs = [line.split("=", 1) for line in result.stdout.splitlines()]
    assert all(len(pair) == 2 for pair in pairs), result.stdout
    values = {name: value for name, value in pairs}
    assert len(values) == len(pairs), result.stdout
    return values


def test_the_env_file_is_read_and_the_environment_wins_over_it(tmp_path: Path) -> None:
    path = env_file(
        tmp_path,
        "TASKBRIDGE_LOG_LEVEL=DEBUG",
        "TASKBRIDGE_DB_POOL_SIZE=7",
        f"TASKBRIDGE_SECRET_KEY={SECRET_IN_FILE}",
    )
    env = clean_env(tmp_path, TASKBRIDGE_ENV_FILE=path, TASKBRIDGE_LOG_LEVEL="WARNING")

    values = shown(show(env))
    origins = show(env, "--show-origin").stdout.splitlines()

    assert values["TASKBRIDGE_ENV_FILE"] == path
    assert values["TASKBRIDGE_LOG_LEVEL"] == "WARNING"
    assert values["TASKBRIDGE_DB_POOL_SIZE"] == "7"
    assert values["TASKBRIDGE_SECRET_KEY"] == MASK
    assert values["TASKBRIDGE_MAX_BODY_BYTES"] == "1048576"
    assert values["TASKBRIDGE_LOG_JSON"] == "false"
    assert "TASKBRIDGE_LOG_LEVEL=WARNING  # environment" in origins
    assert "TASKBRIDGE_DB_POOL_SIZE=7  # env file" in origins
    assert "TASKBRIDGE_MAX_BODY_BYTES=1048576  # default" in origins


def test_config_show_lists_every_setting(tmp_path: Path) -> None:
    values = shown(show(clean_env(tmp_path, TASKBRIDGE_SECRET_KEY=TEST_SECRET_KEY)))

    every = {env_variable(field) for field in Settings.model_fields} | {"TASKBRIDGE_ENV_FILE"}
    assert set(values) == every
    assert values["TASKBRIDGE_ENV_FILE"] == ""
    assert values["TASKBRIDGE_DATABASE_URL"].endswith(str(tmp_path / "data" / "taskbridge.db"))


def test_config_show_never_prints_a_secret(tmp_path: Path) -> None:
    path = env_file(tmp_path, f"TASKBRIDGE_SECRET_KEY={SECRET_IN_FILE}")
    env = clean_env(
        tmp_path,
        TASKBRIDGE_ENV_FILE=path,
        TASKBRIDGE_DATABASE_URL=(
            f"postgresql://taskbridge:{DB_PASSWORD}@db.internal:5432/tb"
            f"?sslmode=require&password={DB_PASSWORD}"
        ),
        TASKBRIDGE_REDIS_URL=f"redis://default:{REDIS_PASSWORD}@cache.internal:6379/3",
        TASKBRIDGE_METRICS_TOKEN=METRICS_TOKEN,
    )

    result = show(env, "--show-origin")
    values = shown(show(env))

    for secret in (SECRET_IN_FILE, DB_PASSWORD, "pa55w0rd", REDIS_PASSWORD, METRICS_TOKEN):
        assert secret not in result.stdout
    assert values["TASKBRIDGE_SECRET_KEY"] == MASK
    assert values["TASKBRIDGE_DATABASE_URL"] == (
        f"postgresql://taskbridge:{MASK}@db.internal:5432/tb?sslmode=require&password={MASK}"
    )
    assert values["TASKBRIDGE_REDIS_URL"] == f"redis://default:{MASK}@cache.internal:6379/3"
    if "TASKBRIDGE_METRICS_TOKEN" in values:
        assert values["TASKBRIDGE_METRICS_TOKEN"] == MASK


@pytest.mark.parametrize(
    "command", [("config", "show"), ("serve", "--port", "1"), ("db", "upgrade")], ids=" ".join
)
def test_every_bad_setting_is_one_line_naming_its_variable(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """One bad value in the env file, one in the environment: both named, neither shown."""
    path = env_file(tmp_path, "TASKBRIDGE_DB_POOL_SIZE=0")
    env = clean_env(
        tmp_path,
        TASKBRIDGE_ENV_FILE=path,
        TASKBRIDGE_SECRET_KEY=TEST_SECRET_KEY,
        TASKBRIDGE_PUBLIC_URL="ftp://hidden.example",
    )

    result = run_cli(env, *command)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "TASKBRIDGE_DB_POOL_SIZE: Input should be greater than or equal to 1",
        "TASKBRIDGE_PUBLIC_URL must be an absolute http(s) URL such as https://tasks.example.com",
    ]
    assert "hidden.example" not in result.stderr
    assert not (tmp_path / "data" / "taskbridge.db").exists()


def test_a_missing_env_file_is_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "taskbridge.env"
    env = clean_env(tmp_path, TASKBRIDGE_ENV_FILE=str(missing))

    result = run_cli(env, "config", "show")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"TASKBRIDGE_ENV_FILE names {missing}, which does not exist"
    ]
