"""Tests of voltage, current and frequency: plausible, consistent with power, per phase."""

from __future__ import annotations

import math

import pytest

from hes.simulator.physics import ProfileClass
from hes.simulator.physics.electrical import grid_frequency, neutral_current, phase_currents
from tests.simulator.physics.factory import DAY, HOUR, MINUTE, START, make_meter


@pytest.mark.parametrize("phases", [1, 3])
def test_voltage_stays_within_ten_percent_of_nominal_on_a_quiet_grid(phases: int) -> None:
    for seed in range(12):
        meter = make_meter(seed=seed, phases=phases)
        records = meter.intervals(START, START + 7 * DAY)
        voltages = [volts for record in records for volts in record.voltage_v]
        instants = [meter.instantaneous(START + n * 37 * MINUTE).voltage_v for n in range(200)]

        assert len(voltages) == 7 * 96 * phases
        assert all(207.0 <= volts <= 253.0 for volts in voltages)
        assert all(207.0 <= volts <= 253.0 for reading in instants for volts in reading)
        assert 3.0 < max(voltages) - min(voltages) < 30.0, "the voltage moves, but not wildly"


def test_frequency_belongs_to_the_grid() -> None:
    moments = [START + n * 13 * MINUTE for n in range(300)]
    first, second = make_meter(seed=1), make_meter(seed=2, phases=3)

    readings = [first.instantaneous(moment).frequency_hz for moment in moments]
    assert readings == [second.instantaneous(moment).frequency_hz for moment in moments]
    assert all(49.9 < hertz < 50.1 for hertz in readings)
    assert len(set(readings)) > 3
    assert grid_frequency(1_700_000_000) == grid_frequency(1_700_000_000)


def test_three_phase_meters_have_three_voltages_and_currents() -> None:
    meter = make_meter(phases=3, profile_class=ProfileClass.INDUSTRIAL, scale_kwh_per_day=400.0)
    now = meter.instantaneous(START + 10 * HOUR + 3 * MINUTE)
    record = meter.interval(START + 10 * HOUR)

    assert len(now.voltage_v) == len(now.current_a) == len(record.voltage_v) == len(record.current_a) == 3
    assert len(set(now.current_a)) == 3, "the load is not perfectly balanced"
    assert 0.0 < now.current_neutral_a < min(now.current_a), "neutral carries only the imbalance"
    apparent = sum(volts * amps for volts, amps in zip(now.voltage_v, now.current_a, strict=True))
    assert apparent == pytest.approx(now.apparent_power_va, rel=0.002)


def test_interval_current_and_power_factor_match_its_energy() -> None:
    meter = make_meter(scale_kwh_per_day=30.0)
    for record in meter.intervals(START, START + 2 * DAY):
        active_w = record.average_power_w
        reactive_w = (record.reactive_import_varh - record.reactive_export_varh) * 4
        apparent_w = record.voltage_v[0] * record.current_a[0]
        # Energies are whole Wh per quarter hour, so allow a few W of rounding.
        assert apparent_w == pytest.approx(math.hypot(active_w, reactive_w), abs=12.0)
        assert record.power_factor == pytest.approx(abs(active_w) / math.hypot(active_w, reactive_w), abs=0.02)
        assert 0.8 < record.power_factor <= 1.0


def test_instantaneous_power_factor_is_consistent_with_power() -> None:
    meter = make_meter()
    for minute in range(0, 24 * 60, 41):
        now = meter.instantaneous(START + minute * MINUTE)
        active = now.active_power_import_w - now.active_power_export_w
        assert now.apparent_power_va == pytest.approx(math.hypot(active, now.reactive_power_var), abs=0.1)
        assert now.power_factor == pytest.approx(abs(active) / now.apparent_power_va, abs=0.001)


def test_industry_exports_reactive_energy_at_night() -> None:
    meter = make_meter(profile_class=ProfileClass.INDUSTRIAL, phases=3, scale_kwh_per_day=500.0)
    night = meter.intervals(START + 1 * HOUR, START + 3 * HOUR)
    shift = meter.intervals(START + 9 * HOUR, START + 11 * HOUR)

    assert all(record.reactive_export_varh > 0 and record.reactive_import_varh == 0 for record in night)
    assert all(record.reactive_import_varh > 0 and record.reactive_export_varh == 0 for record in shift)


def test_current_helpers() -> None:
    assert phase_currents(2300.0, (1.0,), (230.0,)) == (10.0,)
    assert phase_currents(2300.0, (1.0,), (0.0,)) == (0.0,)
    assert phase_currents(6900.0, (0.5, 0.25, 0.25), (230.0, 230.0, 230.0)) == (15.0, 7.5, 7.5)
    assert neutral_current((4.2,)) == 4.2
    assert neutral_current((10.0, 10.0, 10.0)) == 0.0
    assert neutral_current((10.0, 0.0, 0.0)) == 10.0
