"""Settings refuse what would make taskbridge unsafe, and say which variable and why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from taskbridge.cli import app
from taskbridge.config import SECRET_KEY_FILE, Settings, describe_invalid_settings
from tests.conftest import TEST_SECRET_KEY
from tests.servers import run_cli

SHORT_KEY_RULE = "TASKBRIDGE_SECRET_KEY must hold at least 32 bytes of key material"


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as raised:
        Settings(**values)  # type: ignore[arg-type]
    return describe_invalid_settings(raised.value)


@pytest.mark.parametrize("key", ["", "test-secret", "x" * 31, "ñ" * 15])
def test_a_secret_key_below_32_bytes_is_refused(tmp_path: Path, key: str) -> None:
    message = refusal(data_dir=tmp_path, secret_key=key)

    assert message.startswith(SHORT_KEY_RULE)
    assert f"(it has {len(key.encode())})" in message
    assert "\n" not in message
    if key:
        assert key not in message


def test_a_key_of_32_bytes_or_the_generated_one_is_accepted(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, secret_key="k" * 32).resolved_secret_key() == "k" * 32
    generated = Settings(data_dir=tmp_path).resolved_secret_key()
    assert len(generated) >= 64
    assert (tmp_path / SECRET_KEY_FILE).read_text() == generated
    assert Settings(data_dir=tmp_path).resolved_secret_key() == generated


def test_a_short_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_KEY_FILE).write_text("short\n")

    message = refusal(data_dir=tmp_path)

    assert message.startswith(f"{tmp_path / SECRET_KEY_FILE} (the key used while")
    assert "must hold at least 32 bytes of key material (it has 5)" in message
    # A key set in the environment wins over the file, which is then not read.
    assert Settings(data_dir=tmp_path, secret_key=TEST_SECRET_KEY).resolved_secret_key()


def test_the_secret_key_is_never_shown_in_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(data_dir=tmp_path, secret_key="a-secret-of-22-bytes!!")
    assert "a-secret-of-22-bytes!!" not in str(raised.value)


@pytest.mark.parametrize(
    ("given", "trusted"),
    [
        ("", []),
        ("127.0.0.1", ["127.0.0.1"]),
        (" 10.0.0.5 , 10.1.0.7/16,::1", ["10.0.0.5", "10.1.0.0/16", "::1"]),
        ("*", ["*"]),
        ("10.0.0.5,*", ["*"]),
    ],
)
def test_forwarded_allow_ips_lists_addresses_and_networks(given: str, trusted: list[str]) -> None:
    assert Settings(forwarded_allow_ips=given).trusted_proxies() == trusted


def test_forwarded_allow_ips_refuses_names_it_could_never_match() -> None:
    message = refusal(forwarded_allow_ips="127.0.0.1,proxy.internal")

    assert message.startswith("TASKBRIDGE_FORWARDED_ALLOW_IPS (--forwarded-allow-ips): ")
    assert "'proxy.internal' does not appear to be an IPv4 or IPv6 address" in message


@pytest.mark.parametrize(
    ("given", "is_https"),
    [
        ("", False),
        ("https://tasks.example.com", True),
        ("HTTPS://tasks.example.com/", True),
        ("http://tasks.example.com:8080", False),
    ],
)
def test_the_public_url_says_whether_people_arrive_over_https(given: str, is_https: bool) -> None:
    assert Settings(public_url=given).is_public_url_https() is is_https


@pytest.mark.parametrize("given", ["tasks.example.com", "ftp://tasks.example.com", "https://"])
def test_a_public_url_that_is_not_an_http_url_is_refused(given: str) -> None:
    assert refusal(public_url=given).startswith("TASKBRIDGE_PUBLIC_URL must be an absolute")


def test_another_invalid_variable_is_named_by_its_environment_name() -> None:
    assert refusal(db_pool_size=0).startswith("TASKBRIDGE_DB_POOL_SIZE: ")


def _refused_line(size: int) -> str:
    return (
        f"{SHORT_KEY_RULE} (it has {size}); generate one with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    )


@pytest.mark.parametrize("command", [("serve", "--port", "1"), ("dispatcher",)], ids=" ".join)
def test_the_server_and_the_dispatcher_refuse_a_short_secret_key(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    env["TASKBRIDGE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'taskbridge.db'}"
    env["TASKBRIDGE_DATA_DIR"] = str(tmp_path)
    env["TASKBRIDGE_SECRET_KEY"] = "changeme"

    result = run_cli(env, *command)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [_refused_line(8)]
    assert not (tmp_path / "taskbridge.db").exists()


@pytest.mark.parametrize(
    "command", [("db", "upgrade"), ("tenant", "list"), ("demo", "--json")], ids=" ".join
)
def test_every_command_refuses_an_empty_secret_key(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {
        "TASKBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'taskbridge.db'}",
        "TASKBRIDGE_DATA_DIR": str(tmp_path),
        "TASKBRIDGE_SECRET_KEY": "",
    }

    result = CliRunner(env=env).invoke(app, list(command))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [_refused_line(0)]


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"header_timeout_seconds": 0}, "TASKBRIDGE_HEADER_TIMEOUT_SECONDS"),
        ({"header_timeout_seconds": 301}, "TASKBRIDGE_HEADER_TIMEOUT_SECONDS"),
        ({"body_timeout_seconds": -1}, "TASKBRIDGE_BODY_TIMEOUT_SECONDS"),
        ({"keep_alive_seconds": 0}, "TASKBRIDGE_KEEP_ALIVE_SECONDS"),
        ({"limit_concurrency": 0}, "TASKBRIDGE_LIMIT_CONCURRENCY"),
    ],
)
def test_connection_bounds_out_of_range_are_refused(
    values: dict[str, object], variable: str
) -> None:
    assert refusal(**values).startswith(f"{variable}: ")


def test_serve_refuses_a_header_timeout_of_zero_or_a_limit_below_one(tmp_path: Path) -> None:
    env = {
        "TASKBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'taskbridge.db'}",
        "TASKBRIDGE_DATA_DIR": str(tmp_path),
        "TASKBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
    }
    runner = CliRunner(env={**env, "TASKBRIDGE_HEADER_TIMEOUT_SECONDS": "0"})

    zero_timeout = runner.invoke(app, ["serve", "--port", "1"])
    no_connection = CliRunner(env=env).invoke(app, ["serve", "--limit-concurrency", "0"])

    assert zero_timeout.exit_code == 1
    assert zero_timeout.stderr.startswith("TASKBRIDGE_HEADER_TIMEOUT_SECONDS: ")
    assert no_connection.exit_code == 2
    assert "--limit-concurrency" in no_connection.stderr
    assert not (tmp_path / "taskbridge.db").exists()
