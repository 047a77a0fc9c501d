"""The one settings object: read from the environment and `.env`, nothing else reads them."""

from __future__ import annotations

import secrets
from datetime import time
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
    meter_port: int = Field(default=4059, ge=0, le=65535)  # 0: any free port (tests)
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
    ingest_batch_readings: int = Field(default=10_000, alias="HES_INGEST_BATCH_READINGS", ge=1)
    ingest_writers: int = Field(default=2, alias="HES_INGEST_WRITERS", ge=1, le=16)
    ingest_linger_ms: float = Field(default=5.0, alias="HES_INGEST_LINGER_MS", ge=0)
    ingest_queue_readings: int = Field(default=500_000, alias="HES_INGEST_QUEUE_READINGS", ge=1)
    ingest_submit_wait_seconds: float = Field(default=2.0, alias="HES_INGEST_SUBMIT_WAIT_SECONDS", ge=0)
    ingest_write_timeout_seconds: float = Field(default=30.0, alias="HES_INGEST_WRITE_TIMEOUT_SECONDS", gt=0)
    device_token_cache_seconds: float = Field(default=30.0, alias="HES_DEVICE_TOKEN_CACHE_SECONDS", ge=0)
    meter_cache_seconds: float = Field(default=60.0, alias="HES_METER_CACHE_SECONDS", ge=0)
    # Periodic jobs and retention
    jobs_enabled: bool = Field(default=True, alias="HES_JOBS_ENABLED")
    readings_retention_days: int = Field(default=0, alias="HES_READINGS_RETENTION_DAYS", ge=0)
    events_retention_days: int = Field(default=0, alias="HES_EVENTS_RETENTION_DAYS", ge=0)
    read_attempts_retention_days: int = Field(default=400, alias="HES_READ_ATTEMPTS_RETENTION_DAYS", ge=0)
    retention_at: time = Field(default=time(2, 30), alias="HES_RETENTION_AT")
    alert_retention_days: int = Field(default=90, alias="HES_ALERT_RETENTION_DAYS", ge=1)
    # Alert rules
    nominal_voltage: float = Field(default=230.0, alias="HES_NOMINAL_VOLTAGE", gt=0)
    voltage_tolerance_percent: float = Field(default=10.0, alias="HES_VOLTAGE_TOLERANCE_PERCENT", gt=0, lt=100)
    reverse_power_threshold_w: float = Field(default=50.0, alias="HES_REVERSE_POWER_THRESHOLD_W", gt=0)
    zero_consumption_hours: int = Field(default=48, alias="HES_ZERO_CONSUMPTION_HOURS", ge=1)
    # Real time and online/offline
    socketio_redis_url: str = Field(default="", alias="HES_SOCKETIO_REDIS_URL")
    status_check_interval_s: float = Field(default=30.0, alias="HES_STATUS_CHECK_INTERVAL_S", gt=0)
    offline_after_intervals: int = Field(default=2, alias="HES_OFFLINE_AFTER_INTERVALS", ge=1)
    offline_grace_s: int = Field(default=120, alias="HES_OFFLINE_GRACE_S", ge=0)
    expected_interval_outbound_s: int = Field(default=900, alias="HES_EXPECTED_INTERVAL_OUTBOUND_S", ge=1)
    expected_interval_dial_in_s: int = Field(default=900, alias="HES_EXPECTED_INTERVAL_DIAL_IN_S", ge=1)
    expected_interval_push_s: int = Field(default=900, alias="HES_EXPECTED_INTERVAL_PUSH_S", ge=1)
    expected_interval_mqtt_s: int = Field(default=900, alias="HES_EXPECTED_INTERVAL_MQTT_S", ge=1)
    expected_interval_http_s: int = Field(default=900, alias="HES_EXPECTED_INTERVAL_HTTP_S", ge=1)
    # MQTT
    mqtt_url: str = ""
    mqtt_client_id: str = Field(default="", alias="HES_MQTT_CLIENT_ID")
    mqtt_share_group: str = Field(default="", alias="HES_MQTT_SHARE_GROUP")
    mqtt_session_expiry_seconds: int = Field(default=7 * 24 * 3600, alias="HES_MQTT_SESSION_EXPIRY_SECONDS", ge=0)
    mqtt_receive_maximum: int = Field(default=2000, alias="HES_MQTT_RECEIVE_MAXIMUM", ge=1, le=65535)
    # Dial-in meters and DLMS pushes (on METER_HOST:METER_PORT)
    dial_in_max_connections: int = Field(default=1000, alias="HES_DIAL_IN_MAX_CONNECTIONS", ge=1)
    dial_in_announcement_timeout_seconds: float = Field(
        default=30.0, alias="HES_DIAL_IN_ANNOUNCEMENT_TIMEOUT_SECONDS", gt=0
    )
    dial_in_identify_silent: bool = Field(default=True, alias="HES_DIAL_IN_IDENTIFY_SILENT")
    dial_in_handover_timeout_seconds: float = Field(default=10.0, alias="HES_DIAL_IN_HANDOVER_TIMEOUT_SECONDS", gt=0)
    # Meter sessions (DLMS) and collection
    dlms_max_sessions: int = Field(default=1000, alias="HES_DLMS_MAX_SESSIONS", ge=1)
    dlms_max_sessions_per_target: int = Field(default=4, alias="HES_DLMS_MAX_SESSIONS_PER_TARGET", ge=1)
    dlms_connections_per_second: float = Field(default=30.0, alias="HES_DLMS_CONNECTIONS_PER_SECOND", gt=0)
    dlms_connection_burst: int = Field(default=30, alias="HES_DLMS_CONNECTION_BURST", ge=1)
    dlms_connect_timeout_seconds: float = Field(default=10.0, alias="HES_DLMS_CONNECT_TIMEOUT_SECONDS", gt=0)
    dlms_response_timeout_seconds: float = Field(default=30.0, alias="HES_DLMS_RESPONSE_TIMEOUT_SECONDS", gt=0)
    dlms_release_timeout_seconds: float = Field(default=5.0, alias="HES_DLMS_RELEASE_TIMEOUT_SECONDS", gt=0)
    dlms_retries: int = Field(default=2, alias="HES_DLMS_RETRIES", ge=0, le=10)
    dlms_backoff_seconds: float = Field(default=10.0, alias="HES_DLMS_BACKOFF_SECONDS", gt=0)
    dlms_backoff_max_seconds: float = Field(default=600.0, alias="HES_DLMS_BACKOFF_MAX_SECONDS", gt=0)
    dlms_read_timeout_seconds: float = Field(default=60.0, alias="HES_DLMS_READ_TIMEOUT_SECONDS", gt=0)
    dlms_clock_drift_seconds: float = Field(default=60.0, alias="HES_DLMS_CLOCK_DRIFT_SECONDS", gt=0)
    dlms_client_system_title: str = Field(
        default="4845533030303031", alias="HES_DLMS_CLIENT_SYSTEM_TITLE", pattern=r"^[0-9A-Fa-f]{16}$"
    )
    profile_gap_days: int = Field(default=7, alias="HES_PROFILE_GAP_DAYS", ge=1, le=90)
    profile_gap_max_intervals: int = Field(default=192, alias="HES_PROFILE_GAP_MAX_INTERVALS", ge=1)
    poll_tick_seconds: float = Field(default=60.0, alias="HES_POLL_TICK_SECONDS", ge=10)
    poll_schedules: str = Field(default="", alias="HES_POLL_SCHEDULES")

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
