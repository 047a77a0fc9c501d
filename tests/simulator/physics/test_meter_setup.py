"""Tests of a meter's seed-derived constants and default registers."""

from __future__ import annotations

import pytest

from hes.simulator.physics import DEFAULT_TOU, ProfileClass
from hes.simulator.physics.meter_setup import constants_for, default_start_registers


@pytest.mark.parametrize("seed", range(20))
def test_constants_are_plausible(seed: int) -> None:
    single = constants_for(ProfileClass.RESIDENTIAL, seed, 1, 8.0, False)
    three = constants_for(ProfileClass.INDUSTRIAL, seed, 3, 300.0, True)

    assert single.phase_shares == (1.0,) and single.pv_kwp == 0.0
    assert sum(three.phase_shares) == pytest.approx(1.0) and all(0.25 < s < 0.42 for s in three.phase_shares)
    assert 0.3 * 300.0 <= three.pv_kwp <= 0.5 * 300.0
    assert all(-0.04 < offset < 0.03 for offset in three.voltage_offsets)


def test_default_start_registers_are_consistent() -> None:
    meter = constants_for(ProfileClass.RESIDENTIAL, 4, 1, 8.0, True)
    registers = default_start_registers(meter, DEFAULT_TOU.blocks)

    assert 0.2 * 365 * 8_000 <= registers.active_import_wh <= 4.0 * 366 * 8_000
    assert registers.active_export_wh > 0
    assert registers.active_export_by_rate_wh[1] == max(registers.active_export_by_rate_wh), "PV exports by day"
    assert registers.apparent_import_vah >= registers.active_import_wh
