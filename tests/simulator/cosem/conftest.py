"""Fixtures of the COSEM object model tests: an IDIS meter at a fixed moment, with a day of load profile."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hes.obis import ObisCode, load_profile
from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.cosem.state import RowValue

WAT = timezone(timedelta(hours=1), "WAT")  # West Africa Time, the Nigerian fleet's zone
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=WAT)
PUBLIC, MANAGEMENT, READING = 16, 1, 2
QUARTER = timedelta(minutes=15)
LOAD_PROFILE_ROWS = 96  # a day of 15-minute entries, ending at NOW


def ln(text: str) -> bytes:
    """The 6-octet logical name of an OBIS code."""
    return ObisCode.parse(text).to_bytes()


def load_profile_rows() -> list[tuple[RowValue, ...]]:
    """clock, AMR status, +A, -A, +R, -R: energy grows 250 Wh a quarter, +R 50 varh."""
    start = NOW - LOAD_PROFILE_ROWS * QUARTER
    return [
        (start + (n + 1) * QUARTER, 0, 10_000.0 + 250.0 * n, 0.0, 2_000.0 + 50.0 * n, 0.0)
        for n in range(LOAD_PROFILE_ROWS)
    ]


@pytest.fixture
def state() -> InMemoryMeterState:
    """An IDIS meter's values: energy, instantaneous values, identity and a day of load profile."""
    return InMemoryMeterState.of(
        NOW,
        measurements={
            "1-0:1.8.0.255": 12_345.6,
            "1-0:1.8.1.255": 7_000.0,
            "1-0:2.8.0.255": 0.0,
            "1-0:32.7.0.255": 231.46,
            "1-0:31.7.0.255": 5.237,
            "1-0:14.7.0.255": 50.01,
            "1-0:13.7.0.255": -0.95,
            "1-0:1.4.0.255": 1_200.0,
            "1-0:1.6.0.255": 4_400.0,
        },
        data_values={"0-0:96.1.0.255": "SIM00000001", "0-0:42.0.0.255": "HXE00000001", "1-0:0.2.0.255": "FW 1.2.3"},
        rows={"1-0:99.1.0.255": load_profile_rows()},
    )


@pytest.fixture
def meter(state: InMemoryMeterState) -> MeterObjects:
    """The IDIS meter as its management client sees it."""
    return MeterObjects.build(load_profile("idis"), state, MANAGEMENT)
