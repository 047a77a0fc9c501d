"""Connectivity settings from the process settings: defaults, values, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from hes.config import Settings
from hes.connectivity.catalogue import CollectionKind
from hes.connectivity.settings import ConnectivitySettings


def _from(**fields: Any) -> ConnectivitySettings:
    return ConnectivitySettings.from_settings(Settings(_env_file=None, **_aliased(fields)))


def _aliased(fields: dict[str, Any]) -> dict[str, Any]:
    # Settings takes its environment names (HES_DLMS_...); these tests speak in field names.
    return {Settings.model_fields[name].alias or name: value for name, value in fields.items()}


def test_the_defaults_are_osgps() -> None:
    settings = _from()
    assert (settings.max_sessions, settings.connections_per_second, settings.retries) == (1000, 30.0, 2)
    assert settings.timeouts.connect == 10.0 and settings.gap_window.days == 7


def test_values_come_from_the_settings_fields() -> None:
    settings = _from(
        dlms_max_sessions=2000,
        dlms_connections_per_second=120.0,
        dlms_retries=0,
        profile_gap_days=3,
        poll_schedules='[{"registers": 1800}]',
        dlms_client_system_title="4845533030303939",
    )
    assert (settings.max_sessions, settings.connections_per_second, settings.retries) == (2000, 120.0, 0)
    assert settings.gap_days == 3 and settings.client_system_title == b"HES00099"
    assert settings.polling_groups[-1].intervals[CollectionKind.REGISTERS] == 1800


@pytest.mark.parametrize(
    "fields",
    [
        {"dlms_max_sessions": 0},
        {"dlms_connections_per_second": 0},
        {"dlms_backoff_seconds": 900, "dlms_backoff_max_seconds": 60},
        {"poll_schedules": "[1]"},
    ],
)
def test_values_out_of_range_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError too
        _from(**fields)
