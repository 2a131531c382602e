"""The deployment files no test can run here (no systemd, no container runtime), read as their
tools would: every ``taskbridge`` command they start must parse in the real CLI, every
``TASKBRIDGE_*`` variable they name must be a setting, the environment template must hold what
production needs and be accepted by :class:`Settings`, and the layouts must keep their promises
(migrations run once, hardening, health checks, the ports nginx's upstream names).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
import yaml
from pydantic import ValidationError
from typer.core import TyperGroup

from taskbridge.cli import app as cli_app
from taskbridge.config import ENV_FILE_VARIABLE, Settings, describe_invalid_settings, env_variable

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "taskbridge.env.example"
SYSTEMD = DEPLOY / "systemd"
NGINX_SITE = DEPLOY / "nginx" / "taskbridge.conf"
DEPLOY_FILES = sorted(
    [DOCKERFILE, COMPOSE, *(path for path in DEPLOY.rglob("*") if path.is_file())]
)

PRODUCTION_SETTINGS = [
    "database_url",
    "secret_key",
    "public_url",
    "forwarded_allow_ips",
    "data_dir",
    "redis_url",
    "metrics_token",
    "log_json",
    "rate_limit_per_key",
    "rate_limit_per_tenant",
    "delivery_retention_days",
    "max_body_bytes",
]
"""What an operator decides in production, so the environment template must set it."""
FILLED_IN = {
    "TASKBRIDGE_SECRET_KEY": "a-production-secret-key-of-more-than-32-bytes",
    "TASKBRIDGE_METRICS_TOKEN": "a-metrics-token-for-prometheus",
}
"""The template's empty values, as the operator fills them in."""
ENV_LINE = re.compile(r"(TASKBRIDGE_[A-Z0-9_]+)=(\S*)")
"""The one line shape systemd, Compose and dotenv read alike (no quotes, no inline comment)."""
VARIABLE = re.compile(r"\bTASKBRIDGE_[A-Z0-9_]+")
UNITS = sorted(SYSTEMD.glob("*.service"))
TEMPLATE_INSTANCE = "8001"
"""What ``%i`` stands for when a template unit's command is parsed."""


@dataclass(frozen=True)
class Invocation:
    """A command line some deployment file runs, and where."""

    where: str
    argv: list[str]

    def __str__(self) -> str:
        return f"{self.where}: {shlex.join(self.argv)}"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
            pending = ""
    return instructions


def dockerfile(keyword: str) -> list[str]:
    return [rest for name, rest in dockerfile_instructions() if name == keyword]


def exec_form(arguments: str) -> list[str]:
    """A CMD's JSON array (the exec form: no shell between Docker and the process)."""
    argv = json.loads(arguments)
    assert isinstance(argv, list), arguments
    return [str(word) for word in argv]


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit's sections as (key, value) pairs, repeated keys kept in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def unit_values(path: Path, key: str) -> list[str]:
    return [value for pairs in unit(path).values() for name, value in pairs if name == key]


def unit_value(path: Path, key: str) -> str:
    values = unit_values(path, key)
    assert len(values) == 1, f"{path.name}: {key}= {values}"
    return values[0]


def unit_commands(path: Path) -> Iterator[Invocation]:
    for key in ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop"):
        for value in unit_values(path, key):
            # systemd's prefixes (-, @, +, !) are not part of the command.
            line = value.lstrip("-@+!:").replace("%i", TEMPLATE_INSTANCE)
            yield Invocation(f"{path.name} {key}", shlex.split(line))


def every_invocation() -> list[Invocation]:
    found = [Invocation("Dockerfile CMD", exec_form(cmd)) for cmd in dockerfile("CMD")]
    for name, service in services().items():
        if "command" in service:
            found.append(Invocation(f"compose.yaml {name}", [str(w) for w in service["command"]]))
    for path in UNITS:
        found.extend(unit_commands(path))
    return found


def taskbridge_invocations() -> list[Invocation]:
    return [i for i in every_invocation() if Path(i.argv[0]).name == "taskbridge"]


def parse_with_the_cli(argv: list[str]) -> None:
    """The arguments parsed by the real Typer application, nothing run: an unknown command,
    option or value raises :class:`typer.TyperException` (click's errors, as Typer ships them)."""
    command = typer.main.get_command(cli_app)
    words, path = list(argv[1:]), ["taskbridge"]
    while isinstance(command, TyperGroup):
        name = words.pop(0) if words else ""
        sub = command.commands.get(name)
        if sub is None:
            raise typer.BadParameter(f"no command {name!r} in {' '.join(path)}")
        command, path = sub, [*path, name]
    command.make_context(" ".join(path), words)


def setting_variables() -> set[str]:
    return {env_variable(name) for name in Settings.model_fields} | {ENV_FILE_VARIABLE}


def env_example() -> dict[str, str]:
    """The template's ``NAME=value`` lines; any other line that is not a comment fails."""
    values: dict[str, str] = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = ENV_LINE.fullmatch(line)
        assert match, f"{ENV_EXAMPLE.name}:{number}: not a plain NAME=value line: {line!r}"
        assert match[1] not in values, f"{ENV_EXAMPLE.name}:{number}: {match[1]} set twice"
        values[match[1]] = match[2]
    return values


@pytest.fixture
def environment_without_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``TASKBRIDGE_*`` variable of the caller's: only the file under test speaks."""
    for name in [n for n in os.environ if n.startswith("TASKBRIDGE_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_the_deploy_files_run_the_commands_production_needs() -> None:
    started = {" ".join(i.argv[1:3]) for i in taskbridge_invocations()}

    assert {"serve --host", "dispatcher", "db upgrade"} <= started, started


@pytest.mark.parametrize("invocation", taskbridge_invocations(), ids=str)
def test_every_taskbridge_command_in_the_deploy_files_parses_in_the_cli(
    invocation: Invocation,
) -> None:
    try:
        parse_with_the_cli(invocation.argv)
    except typer.TyperException as exc:
        pytest.fail(f"{invocation}: {exc}")


def test_every_variable_the_deploy_files_name_is_a_setting() -> None:
    known = setting_variables()
    unknown = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in DEPLOY_FILES
        for name in set(VARIABLE.findall(path.read_text()))
        if name not in known
    )

    assert unknown == []


def test_the_environment_template_sets_what_production_needs() -> None:
    values = env_example()

    variables = [env_variable(name) for name in PRODUCTION_SETTINGS]
    assert [name for name in variables if name not in values] == []
    assert values["TASKBRIDGE_DATABASE_URL"].startswith("postgresql://")
    assert values["TASKBRIDGE_PUBLIC_URL"].startswith("https://")
    # Secrets are left empty, never given a value someone could deploy unchanged.
    assert {name: values[name] for name in FILLED_IN} == dict.fromkeys(FILLED_IN, "")


def test_the_environment_template_filled_in_is_accepted_by_settings(
    environment_without_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = ENV_EXAMPLE.read_text()
    for name, value in FILLED_IN.items():
        text = re.sub(rf"^{name}=$", f"{name}={value}", text, flags=re.M)
    env_file = tmp_path / "taskbridge.env"
    env_file.write_text(text)
    environment_without_settings.setenv(ENV_FILE_VARIABLE, str(env_file))

    settings = Settings()

    values = env_example()
    assert settings.resolved_database_url().startswith("postgresql+asyncpg://")
    assert not settings.runs_dispatcher_in_process()
    assert settings.is_public_url_https()
    assert settings.trusted_proxies() == [values["TASKBRIDGE_FORWARDED_ALLOW_IPS"]]
    assert settings.redis_url == values["TASKBRIDGE_REDIS_URL"]
    assert settings.log_json is True
    assert settings.max_body_bytes == int(values["TASKBRIDGE_MAX_BODY_BYTES"])
    assert str(settings.data_dir) == values["TASKBRIDGE_DATA_DIR"]
    for name, value in FILLED_IN.items():
        field = name.removeprefix("TASKBRIDGE_").lower()
        if field in Settings.model_fields:  # the metrics token, once it is a setting
            assert getattr(settings, field).get_secret_value() == value
    assert settings.rate_limit_per_key == values["TASKBRIDGE_RATE_LIMIT_PER_KEY"]
    assert settings.delivery_retention_days == int(values["TASKBRIDGE_DELIVERY_RETENTION_DAYS"])


def test_the_environment_template_as_shipped_refuses_to_start(
    environment_without_settings: pytest.MonkeyPatch,
) -> None:
    environment_without_settings.setenv(ENV_FILE_VARIABLE, str(ENV_EXAMPLE))

    with pytest.raises(ValidationError) as refused:
        Settings()

    assert describe_invalid_settings(refused.value).startswith("TASKBRIDGE_SECRET_KEY must hold")


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_every_systemd_unit_is_confined(path: Path) -> None:
    data_dir = Path(env_example()["TASKBRIDGE_DATA_DIR"])
    writable = [Path("/var/lib") / name for name in unit_values(path, "StateDirectory")]
    writable += [Path(p) for value in unit_values(path, "ReadWritePaths") for p in value.split()]

    assert unit_value(path, "User") == "taskbridge"
    assert unit_value(path, "EnvironmentFile") == "/etc/taskbridge/taskbridge.env"
    assert data_dir in writable
    assert Path(unit_value(path, "WorkingDirectory")) in writable
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit_value(path, key) == value, f"{path.name}: {key}"


def test_migrations_run_in_one_unit_the_others_require_and_follow() -> None:
    runs_upgrade = [
        path.name
        for path in UNITS
        for invocation in unit_commands(path)
        if invocation.argv[1:3] == ["db", "upgrade"]
    ]
    assert runs_upgrade == ["taskbridge-migrate.service"]
    migrate = SYSTEMD / runs_upgrade[0]
    assert unit_value(migrate, "Type") == "oneshot"

    for path in UNITS:
        if path != migrate:
            assert runs_upgrade[0] in unit_value(path, "Requires").split(), path.name
            assert runs_upgrade[0] in unit_value(path, "After").split(), path.name
            assert unit_value(path, "Restart") == "on-failure", path.name


def test_the_serve_template_listens_where_nginx_sends_requests() -> None:
    serve = SYSTEMD / "taskbridge@.service"
    argv = next(unit_commands(serve)).argv

    upstream = re.findall(r"^\s*server (127\.0\.0\.1:\d+)", NGINX_SITE.read_text(), re.M)
    assert argv[1] == "serve"
    assert argv[2:4] == ["--host", "127.0.0.1"]
    assert f"127.0.0.1:{TEMPLATE_INSTANCE}" in upstream


def test_the_image_runs_as_a_user_with_locked_dependencies() -> None:
    runs = " ".join(dockerfile("RUN"))
    (cmd,) = dockerfile("CMD")
    (healthcheck,) = dockerfile("HEALTHCHECK")

    assert dockerfile("FROM") == ["python:3.11-slim"]
    assert "uv sync --frozen --no-dev" in runs
    assert dockerfile("USER")[-1] not in ("root", "0")
    # Every interface of the container: its port is published on the host's loopback only.
    assert exec_form(cmd)[:4] == ["taskbridge", "serve", "--host", "0.0.0.0"]  # noqa: S104
    assert "http://127.0.0.1:8000/healthz" in healthcheck


def test_compose_runs_migrations_once_then_two_servers_and_one_dispatcher() -> None:
    found = services()
    commands = {name: service.get("command", []) for name, service in found.items()}
    servers = sorted(name for name, argv in commands.items() if argv[1:2] == ["serve"])
    dispatchers = [name for name, argv in commands.items() if argv[1:2] == ["dispatcher"]]
    migrations = [name for name, argv in commands.items() if argv[1:3] == ["db", "upgrade"]]

    assert {"postgres", "redis"} <= found.keys()
    assert len(servers) == 2
    assert len(dispatchers) == 1
    assert len(migrations) == 1
    migrate = migrations[0]
    assert found[migrate]["restart"] == "no"
    assert found[migrate]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in [*servers, *dispatchers]:
        needs = found[name]["depends_on"]
        assert needs[migrate] == {"condition": "service_completed_successfully"}, name
        assert needs["postgres"] == {"condition": "service_healthy"}, name
    for name in servers:
        assert found[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert "http://127.0.0.1:8000/readyz" in " ".join(found[name]["healthcheck"]["test"])
    for name in (migrate, *dispatchers):
        # The image's health check asks a server; these processes serve nothing.
        assert found[name]["healthcheck"] == {"disable": True}, name


def test_compose_servers_publish_the_ports_of_nginx_upstream_and_trust_only_its_gateway() -> None:
    found = services()
    servers = [s for s in found.values() if s.get("command", [])[1:2] == ["serve"]]
    published = sorted(port.rsplit(":", 1)[0] for s in servers for port in s["ports"])
    upstream = re.findall(r"^\s*server (127\.0\.0\.1:\d+)", NGINX_SITE.read_text(), re.M)
    (network,) = compose()["networks"]["default"]["ipam"]["config"]

    assert published == sorted(upstream)
    for server in servers:
        env = server["environment"]
        assert env["TASKBRIDGE_FORWARDED_ALLOW_IPS"] == network["gateway"]
        assert env["TASKBRIDGE_REDIS_URL"].startswith("redis://redis:")
        assert "@postgres:5432/" in env["TASKBRIDGE_DATABASE_URL"]


def test_compose_reads_the_environment_template_and_requires_the_secrets() -> None:
    for name, service in services().items():
        if "env_file" not in service:
            continue
        files = service["env_file"]
        required = [f["path"] for f in files if f.get("required", True)]
        assert required == ["deploy/taskbridge.env.example"], name
        assert all((ROOT / path).is_file() for path in required)
        for variable in FILLED_IN:
            # ${NAME:?message}: Compose stops with the message when the operator forgot it.
            assert service["environment"][variable].startswith(f"${{{variable}:?"), name
