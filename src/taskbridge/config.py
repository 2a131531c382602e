"""Settings: the only module that reads the environment (prefix ``TASKBRIDGE_``)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_BYTES = 32
"""Key material below this is refused: it signs tokens and seals dispatch secrets (AES-GCM)."""
NEW_KEY_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
TRUST_EVERY_PROXY = "*"
MIN_METRICS_TOKEN_CHARS = 16
ENV_PREFIX = "TASKBRIDGE_"
ENV_FILE_VARIABLE = "TASKBRIDGE_ENV_FILE"
"""Names a dotenv file read after the environment (whose variables win over it)."""
SETTINGS_ERROR = "invalid_setting"
"""The error type of this module's own checks, whose message already names the variable."""


def check_key_material(key: str, source: str) -> None:
    """Refuse fewer than :data:`MIN_SECRET_KEY_BYTES` bytes, naming where the key came from."""
    size = len(key.encode())
    if size < MIN_SECRET_KEY_BYTES:
        raise PydanticCustomError(
            SETTINGS_ERROR,
            f"{source} must hold at least {MIN_SECRET_KEY_BYTES} bytes of key material "
            f"(it has {size}); generate one with: {NEW_KEY_COMMAND}",
        )


def parse_trusted_proxies(value: str) -> list[str]:
    """``TASKBRIDGE_FORWARDED_ALLOW_IPS`` (or ``serve --forwarded-allow-ips``) as a list of
    addresses and networks, or ``["*"]``; empty: no proxy is trusted.

    Networks are normalized (``10.0.0.1/24`` → ``10.0.0.0/24``) because uvicorn silently treats
    a network it cannot parse as a literal that no address ever matches.
    """
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if TRUST_EVERY_PROXY in entries:
        return [TRUST_EVERY_PROXY]
    try:
        return [
            str(ipaddress.ip_network(entry, strict=False))
            if "/" in entry
            else str(ipaddress.ip_address(entry))
            for entry in entries
        ]
    except ValueError as exc:
        raise PydanticCustomError(
            SETTINGS_ERROR,
            f"TASKBRIDGE_FORWARDED_ALLOW_IPS (--forwarded-allow-ips): {exc}; list IP addresses "
            "or networks of the proxies in front of taskbridge, comma-separated",
        ) from None


REDIS_SCHEMES = ("redis", "rediss", "unix")


def check_rate(value: str, variable: str) -> str:
    """A rate limit in ``limits``' notation (``1000/second``, ``50000 per minute``), or empty
    for none; anything else names ``variable`` and shows the notation."""
    value = value.strip()
    if not value:
        return ""
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise PydanticCustomError(
            SETTINGS_ERROR,
            f"{variable} must be one rate such as 1000/second or 50000/minute (empty: no limit)",
        )
    return value


def describe_invalid_settings(exc: ValidationError) -> str:
    """One line per offending ``TASKBRIDGE_*`` variable, naming it and its rule (never its
    value): whoever fixes the first should not have to start again to learn of the second."""
    return "\n".join(
        error["msg"]
        if error["type"] == SETTINGS_ERROR
        else f"{env_variable(str(error['loc'][0]) if error['loc'] else '*')}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )


def env_variable(field: str) -> str:
    """A settings field's environment variable (``db_pool_size``: ``TASKBRIDGE_DB_POOL_SIZE``)."""
    return ENV_PREFIX + field.upper()


class EnvFileMissing(FileNotFoundError):
    """``TASKBRIDGE_ENV_FILE`` names no file: refused, not skipped, since every setting the file
    was meant to hold would silently take its default."""


def named_env_file() -> Path | None:
    """The dotenv file ``TASKBRIDGE_ENV_FILE`` names, if any (:class:`EnvFileMissing` when it is
    not there)."""
    value = os.environ.get(ENV_FILE_VARIABLE, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise EnvFileMissing(f"{ENV_FILE_VARIABLE} names {path}, which {problem}")
    return path


class Origin(StrEnum):
    """Where a setting's value came from."""

    ENVIRONMENT = "environment"
    ENV_FILE = "env file"
    ARGUMENT = "argument"
    DEFAULT = "default"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``TASKBRIDGE_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the file ``TASKBRIDGE_ENV_FILE`` names."""
        env_file = named_env_file()
        if env_file is not None:
            dotenv_settings = DotEnvSettingsSource(settings_cls, env_file=env_file)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    data_dir: Path = Field(
        default=Path("data"), description="Folder for the SQLite file and secret."
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="At least 32 bytes of key material; unset: generated into data_dir.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    cache_ttl_seconds: float = Field(
        default=0.5,
        ge=0,
        le=1.0,
        description="How long a process reuses API keys and result-type catalogues it read.",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds a request waits for a free connection."
    )
    log_level: str = "INFO"
    log_json: bool = False
    dispatch_allow_private_networks: bool = Field(
        default=False, description="Allow dispatch endpoints on private or loopback addresses."
    )
    dispatch_max_attempts: int = Field(default=8, ge=1, le=50)
    dispatch_in_process: bool | None = Field(
        default=None, description="Run the dispatcher inside `serve`; unset: on for SQLite only."
    )
    dispatch_poll_interval: float = Field(default=2.0, gt=0, le=60)
    dispatch_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    dispatch_concurrency: int = Field(default=64, ge=1, le=500)
    delivery_retention_days: int = Field(
        default=30,
        ge=1,
        description="Days a delivery attempt of a closed delivery is kept before the background "
        "purge deletes it.",
    )
    event_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days an event stays in the feed (GET /api/integration/events); a cursor "
        "older than that is answered 410.",
    )
    event_max_wait_seconds: int = Field(
        default=30,
        ge=0,
        le=30,
        description="The longest a feed read with `wait` is held open (it may answer sooner): "
        "keep it below the read timeout of any proxy in front.",
    )
    audit_retention_days: int = Field(
        default=365,
        ge=1,
        le=36500,
        description="Days an audit log entry (an administrator's change or a sign-in) is kept "
        "before the background purge deletes it.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Proxies (addresses or networks, comma-separated, or *) whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; none by default.",
    )
    limit_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Connections one server process keeps open; requests beyond them get 503. "
        "Unset: derived from the open-file limit.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a client has to send a request's headers, from connecting (or from "
        "the request's first byte on a kept-alive connection): then 408 and the connection closes.",
    )
    body_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds a client has to send a request body once its headers arrived: then "
        "the connection closes.",
    )
    keep_alive_seconds: int = Field(
        default=5,
        ge=1,
        le=300,
        description="How long an idle connection stays open between requests.",
    )
    public_url: str = Field(
        default="",
        description="Where people and integrators reach taskbridge (https://tasks.example.com); "
        "https makes every cookie Secure.",
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis (redis://host:6379/0) holding the rate limits' counters, shared by "
        "every process; unset: counted in memory, and only when serve runs one worker.",
    )
    rate_limit_per_key: str = Field(
        default="1000/second",
        description="Requests one API key (or one person's bearer token) may make, in limits' "
        "notation (1000/second, 50000/minute); empty: no limit.",
    )
    rate_limit_per_tenant: str = Field(
        default="3000/second",
        description="Requests all the callers of one tenant may make together; empty: no limit.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        description="Server processes sharing this configuration (serve sets it from --workers): "
        "with several and no redis_url, rate limits are off.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a Prometheus scrape of /metrics must send; unset: /metrics "
        "answers clients on this machine (loopback) only.",
    )
    metrics_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a server process reuses the dispatch queue figures it read for "
        "/metrics, however many scrapes arrive.",
    )

    @field_validator("secret_key")
    @classmethod
    def _enough_key_material(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_key_material(value.get_secret_value(), "TASKBRIDGE_SECRET_KEY")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        return ",".join(parse_trusted_proxies(value))

    @field_validator("rate_limit_per_key")
    @classmethod
    def _key_rate(cls, value: str) -> str:
        return check_rate(value, "TASKBRIDGE_RATE_LIMIT_PER_KEY")

    @field_validator("rate_limit_per_tenant")
    @classmethod
    def _tenant_rate(cls, value: str) -> str:
        return check_rate(value, "TASKBRIDGE_RATE_LIMIT_PER_TENANT")

    @field_validator("metrics_token")
    @classmethod
    def _long_enough_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # an empty variable (the env file template's) is no token
        if len(value.get_secret_value()) < MIN_METRICS_TOKEN_CHARS:
            raise PydanticCustomError(
                SETTINGS_ERROR,
                f"TASKBRIDGE_METRICS_TOKEN must have at least {MIN_METRICS_TOKEN_CHARS} "
                f"characters (empty: none); generate one with: {NEW_KEY_COMMAND}",
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if urlsplit(value).scheme not in REDIS_SCHEMES:
            raise PydanticCustomError(
                SETTINGS_ERROR,
                "TASKBRIDGE_REDIS_URL must be a redis://, rediss:// or unix:// URL such as "
                "redis://127.0.0.1:6379/0",
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise PydanticCustomError(
                SETTINGS_ERROR,
                "TASKBRIDGE_PUBLIC_URL must be an absolute http(s) URL such as "
                "https://tasks.example.com",
            )
        return value

    @model_validator(mode="after")
    def _enough_key_material_in_file(self) -> Settings:
        if self.secret_key is None:
            self._read_key_file()
        return self

    def origin_of(self, field: str) -> Origin:
        """Where ``field``'s value came from (the environment wins over the env file)."""
        if field not in self.model_fields_set:
            return Origin.DEFAULT
        if env_variable(field) in {name.upper() for name in os.environ}:
            return Origin.ENVIRONMENT
        return Origin.ENV_FILE if named_env_file() is not None else Origin.ARGUMENT

    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL, accepting plain ``postgresql://`` and ``sqlite:///`` forms."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'taskbridge.db'}"
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    def runs_dispatcher_in_process(self) -> bool:
        """``dispatch_in_process``, defaulting to on for SQLite and off for PostgreSQL."""
        if self.dispatch_in_process is not None:
            return self.dispatch_in_process
        return self.resolved_database_url().startswith("sqlite")

    def trusted_proxies(self) -> list[str]:
        """The proxies whose forwarding headers are believed (empty: none)."""
        return parse_trusted_proxies(self.forwarded_allow_ips)

    def is_public_url_https(self) -> bool:
        """Whether people reach taskbridge over https (so every cookie must be ``Secure``)."""
        return urlsplit(self.public_url).scheme == "https"

    def _read_key_file(self) -> str | None:
        """The generated key in the data folder (refused when too short), or None before it
        exists."""
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            return None
        key = path.read_text().strip()
        check_key_material(key, f"{path} (the key used while TASKBRIDGE_SECRET_KEY is unset)")
        return key

    def resolved_secret_key(self) -> str:
        """The secret key; generated into the data folder on first use when unset."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        key = self._read_key_file()
        if key is not None:
            return key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path = self.data_dir / SECRET_KEY_FILE
        path.touch(mode=0o600)
        path.write_text(key)
        return key


@lru_cache
def get_settings() -> Settings:
    """Settings read once from the environment."""
    return Settings()
