"""The one settings object: read from the environment and `.env`, nothing else reads them."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Where HES Core runs; production refuses generated or placeholder secrets."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


# Values people paste from tutorials; refused as secrets in production.
_PLACEHOLDER_SECRETS = {"changethis", "changeme", "secret", "password", "jwt_secret"}


class Settings(BaseSettings):
    """HES Core configuration; every field is documented in `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    hes_env: Environment = Environment.DEVELOPMENT
    port: int = Field(default=5000, ge=1, le=65535)
    host: str = "0.0.0.0"
    var_dir: Path = Field(default=Path("var"), alias="HES_VAR_DIR")
    database_url: str = ""
    jwt_secret: str = ""
    data_key: str = Field(default="", alias="HES_DATA_KEY")
    cors_origin: str = "http://localhost:5173"
    meter_host: str = "0.0.0.0"
    meter_port: int = Field(default=4059, ge=1, le=65535)
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=7, ge=1)
    login_rate_limit: str = Field(default="10/minute", alias="HES_LOGIN_RATE_LIMIT")
    rate_limit_storage_url: str = Field(default="memory://", alias="HES_RATE_LIMIT_STORAGE_URL")
    admin_username: str = Field(default="admin", alias="HES_ADMIN_USERNAME")
    admin_password: str = Field(default="", alias="HES_ADMIN_PASSWORD")
    import_max_bytes: int = Field(default=200 * 1024 * 1024, alias="HES_IMPORT_MAX_BYTES", ge=1)
    log_level: str = Field(default="INFO", alias="HES_LOG_LEVEL")
    ingest_max_body_bytes: int = Field(default=5 * 1024 * 1024, alias="HES_INGEST_MAX_BODY_BYTES", ge=1)
    ingest_future_tolerance_seconds: int = Field(default=300, alias="HES_INGEST_FUTURE_TOLERANCE_SECONDS", ge=0)
    ingest_batch_readings: int = Field(default=50_000, alias="HES_INGEST_BATCH_READINGS", ge=1)
    ingest_writers: int = Field(default=2, alias="HES_INGEST_WRITERS", ge=1, le=16)
    ingest_linger_ms: float = Field(default=5.0, alias="HES_INGEST_LINGER_MS", ge=0)
    ingest_queue_readings: int = Field(default=500_000, alias="HES_INGEST_QUEUE_READINGS", ge=1)
    ingest_submit_wait_seconds: float = Field(default=2.0, alias="HES_INGEST_SUBMIT_WAIT_SECONDS", ge=0)
    ingest_write_timeout_seconds: float = Field(default=30.0, alias="HES_INGEST_WRITE_TIMEOUT_SECONDS", gt=0)
    device_token_cache_seconds: float = Field(default=30.0, alias="HES_DEVICE_TOKEN_CACHE_SECONDS", ge=0)
    meter_cache_seconds: float = Field(default=60.0, alias="HES_METER_CACHE_SECONDS", ge=0)

    @field_validator("jwt_secret", "data_key")
    @classmethod
    def _refuse_placeholders(cls, value: str) -> str:
        if value.strip().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; generate a real secret (e.g. `openssl rand -hex 32`)")
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL; the embedded default is a SQLite file under the var directory."""
        if self.database_url:
            return _async_driver_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.var_dir / 'hes.db').resolve()}"

    @cached_property
    def resolved_jwt_secret(self) -> str:
        """JWT signing secret: the configured one, else one generated once and kept under var/."""
        return self.jwt_secret or self._stored_secret("jwt_secret")

    @cached_property
    def resolved_data_key(self) -> str:
        """Key that encrypts meter keys and passwords at rest (Fernet, urlsafe base64)."""
        return self.data_key or self._stored_secret("data_key", fernet=True)

    @property
    def cors_origins(self) -> list[str]:
        """Allowed browser origins, from the comma-separated CORS_ORIGIN."""
        return [origin.strip() for origin in self.cors_origin.split(",") if origin.strip()]

    def _stored_secret(self, name: str, *, fernet: bool = False) -> str:
        if self.hes_env is Environment.PRODUCTION:
            raise RuntimeError(f"{name.upper()} must be set in production; it is never generated there")
        path = self.var_dir / name
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        value = _new_fernet_key() if fernet else secrets.token_hex(32)
        path.touch(mode=0o600)
        path.write_text(value)
        return value


def _new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _async_driver_url(url: str) -> str:
    """Accept the usual `postgresql://` and `sqlite://` spellings and pick the async drivers."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
