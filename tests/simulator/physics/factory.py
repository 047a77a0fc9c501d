"""Shared builders for the physics tests: one well-known meter, on a quiet grid unless a test asks otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hes.simulator.physics import NO_DISTURBANCES, MeterModel, ProfileClass

START = datetime(2024, 3, 4, tzinfo=UTC)
"""A Monday at 00:00 UTC."""
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def make_meter(**overrides: Any) -> MeterModel:
    """A single-phase household meter (8 kWh a day) installed at START, with `overrides` applied."""
    arguments: dict[str, Any] = {
        "meter_number": "SIM000001",
        "profile_class": ProfileClass.RESIDENTIAL,
        "seed": 7,
        "phases": 1,
        "scale_kwh_per_day": 8.0,
        "start": START,
        "disturbances": NO_DISTURBANCES,
    }
    arguments.update(overrides)
    return MeterModel(**arguments)


def daily_import_wh(meter: MeterModel, day: int) -> int:
    """Active energy imported on day `day` after START."""
    first = START + day * DAY
    return sum(record.active_import_wh for record in meter.intervals(first, first + DAY))
