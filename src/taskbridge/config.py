"""Settings: the only module that reads the environment (prefix ``TASKBRIDGE_``)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``TASKBRIDGE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TASKBRIDGE_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Folder for the SQLite file and secret."
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir.")
    secret_key: SecretStr | None = None
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

    def resolved_secret_key(self) -> str:
        """The secret key; generated into the data folder on first use when unset."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_KEY_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


@lru_cache
def get_settings() -> Settings:
    """Settings read once from the environment."""
    return Settings()
