"""Settings: generated secrets, production refusals, database URL spellings, environment and .env."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from hes.config import Environment, Settings

# Variables a developer's shell may carry; every test starts without them.
_VARIABLES = (
    "HES_ENV",
    "PORT",
    "HOST",
    "HES_VAR_DIR",
    "DATABASE_URL",
    "JWT_SECRET",
    "HES_DATA_KEY",
    "CORS_ORIGIN",
    "HES_LOGIN_RATE_LIMIT",
    "HES_ADMIN_PASSWORD",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No inherited variables, and a working directory of the test's own (the relative var/ lands there)."""
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _settings(**fields: Any) -> Settings:
    return Settings(_env_file=None, **fields)


def test_jwt_secret_is_generated_once_under_var_with_mode_0600(tmp_path: Path) -> None:
    first = _settings().resolved_jwt_secret
    stored = tmp_path / "var" / "jwt_secret"
    assert stored.read_text() == first
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert _settings().resolved_jwt_secret == first  # another Settings, another process: same secret
    assert _settings().resolved_jwt_secret == _settings().resolved_jwt_secret


def test_data_key_is_generated_once_and_is_a_fernet_key(tmp_path: Path) -> None:
    key = _settings().resolved_data_key
    Fernet(key.encode())
    stored = tmp_path / "var" / "data_key"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert _settings().resolved_data_key == key
    assert key != _settings().resolved_jwt_secret


def test_configured_secrets_win_and_nothing_is_written(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = _settings(jwt_secret="a" * 64, HES_DATA_KEY=key, HES_VAR_DIR=tmp_path / "elsewhere")
    assert settings.resolved_jwt_secret == "a" * 64 and settings.resolved_data_key == key
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("secret_property", ["resolved_jwt_secret", "resolved_data_key"])
def test_production_never_generates_secrets(tmp_path: Path, secret_property: str) -> None:
    settings = _settings(hes_env=Environment.PRODUCTION)
    with pytest.raises(RuntimeError, match="must be set in production"):
        getattr(settings, secret_property)
    assert not (tmp_path / "var").exists()


def test_production_reads_its_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("HES_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "b" * 64)
    monkeypatch.setenv("HES_DATA_KEY", key)
    settings = _settings()
    assert settings.hes_env is Environment.PRODUCTION
    assert settings.resolved_jwt_secret == "b" * 64 and settings.resolved_data_key == key


@pytest.mark.parametrize("placeholder", ["changethis", "ChangeMe", " secret ", "password", "JWT_SECRET"])
@pytest.mark.parametrize("variable", ["JWT_SECRET", "HES_DATA_KEY"])
def test_placeholder_secrets_are_refused(monkeypatch: pytest.MonkeyPatch, placeholder: str, variable: str) -> None:
    monkeypatch.setenv("HES_ENV", "production")
    monkeypatch.setenv(variable, placeholder)
    with pytest.raises(ValidationError, match="placeholder"):
        _settings()


def test_placeholders_are_refused_outside_production_too() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        _settings(hes_env=Environment.DEVELOPMENT, jwt_secret="changethis")


@pytest.mark.parametrize(
    ("configured", "resolved"),
    [
        ("postgresql://hes:pw@db:5432/hes", "postgresql+asyncpg://hes:pw@db:5432/hes"),
        ("postgres://hes@db/hes", "postgresql+asyncpg://hes@db/hes"),
        ("postgresql+asyncpg://hes@db/hes", "postgresql+asyncpg://hes@db/hes"),
        ("sqlite:////srv/hes/hes.db", "sqlite+aiosqlite:////srv/hes/hes.db"),
        ("sqlite+aiosqlite:///hes.db", "sqlite+aiosqlite:///hes.db"),
    ],
)
def test_database_url_spellings_map_to_async_drivers(configured: str, resolved: str) -> None:
    assert _settings(database_url=configured).resolved_database_url == resolved


def test_database_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://meter@10.0.0.5/hes")
    assert _settings().resolved_database_url == "postgresql+asyncpg://meter@10.0.0.5/hes"


def test_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    assert _settings().resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'hes.db'}"
    moved = _settings(HES_VAR_DIR=tmp_path / "data")
    assert moved.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'hes.db'}"


def test_dot_env_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PORT=8080\nCORS_ORIGIN=https://a.example, https://b.example\nUNKNOWN=1\n")
    monkeypatch.setenv("PORT", "9090")
    settings = Settings()
    assert settings.port == 9090
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(("name", "value"), [("PORT", "0"), ("PORT", "http"), ("HES_ENV", "staging")])
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        _settings()


def test_env_example_documents_every_setting() -> None:
    documented = {
        line.split("=", 1)[0].strip()
        for line in (Path(__file__).parents[1] / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    expected = {(field.alias or name).upper() for name, field in Settings.model_fields.items()}
    assert documented == expected
