"""Register values at a moment from the physics model: OBIS value groups, phases, billing periods and demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hes.obis import ObisCode
from hes.simulator.live_readings import DemandBook, Maximum, Moment, billing_moment, interval_floor, measure
from hes.simulator.physics import INTERVAL, NO_DISTURBANCES, MeterModel, ProfileClass

NOW = datetime(2026, 6, 10, 12, 7, 30, tzinfo=UTC)


@pytest.fixture
def model() -> MeterModel:
    """A quiet three-phase shop with PV."""
    return MeterModel(
        "X3", ProfileClass.COMMERCIAL, 5, 3, 60.0, NOW - timedelta(days=70), reverse_flow=True,
        disturbances=NO_DISTURBANCES,
    )  # fmt: skip


def _read(model: MeterModel, obis: str, at: datetime = NOW) -> float | Maximum | None:
    return measure(ObisCode.parse(obis), Moment(model, at), DemandBook(model), at)


def test_billing_periods_count_back_whole_months_across_the_new_year() -> None:
    assert billing_moment(datetime(2026, 2, 14, 9, tzinfo=UTC), 1) == datetime(2026, 2, 1, tzinfo=UTC)
    assert billing_moment(datetime(2026, 2, 14, 9, tzinfo=UTC), 3) == datetime(2025, 12, 1, tzinfo=UTC)
    assert interval_floor(NOW) == datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def test_energy_by_rate_and_the_sum_of_absolutes(model: MeterModel) -> None:
    registers = model.registers(NOW)
    assert _read(model, "1-0:1.8.0.255") == registers.active_import_wh
    assert _read(model, "1-0:2.8.3.255") == registers.active_export_by_rate_wh[2]
    assert _read(model, "1-0:15.8.0.255") == registers.active_import_wh + registers.active_export_wh
    assert _read(model, "1-0:9.8.0.255") == registers.apparent_import_vah
    assert _read(model, "1-0:3.8.1.255") is None  # the model keeps no reactive energy per rate
    assert _read(model, "1-0:21.8.0.255") is None  # nor energy per phase
    assert _read(model, "1-0:1.8.0.2") == model.monthly_snapshot(2026, 5).active_import_wh


def test_phase_quantities_are_c_plus_20_per_phase(model: MeterModel) -> None:
    values = model.instantaneous(NOW)
    assert [_read(model, f"1-0:{c}.7.0.255") for c in (32, 52, 72)] == list(values.voltage_v)
    assert [_read(model, f"1-0:{c}.7.0.255") for c in (31, 51, 71)] == list(values.current_a)
    assert _read(model, "1-0:91.7.0.255") == values.current_neutral_a
    phases = [_read(model, f"1-0:{c}.7.0.255") for c in (21, 41, 61)]
    assert sum(p for p in phases if isinstance(p, float)) == pytest.approx(values.active_power_import_w)
    assert _read(model, "1-0:14.7.0.255") == values.frequency_hz and _read(model, "1-0:34.7.0.255") is None
    assert _read(model, "1-0:13.7.0.255") == _read(model, "1-0:53.7.0.255") == values.power_factor


def test_what_the_model_does_not_have_is_none(model: MeterModel) -> None:
    assert _read(model, "0-0:96.7.21.255") is None  # not an electricity register
    assert _read(model, "1-0:32.7.0.3") is None  # no billing period of an instantaneous value
    assert _read(model, "1-0:1.8.0.255", model.start - timedelta(days=1)) is None  # before installation
    assert _read(model, "1-0:1.5.0.255") is None


def test_average_demand_is_the_running_quarter_hours_mean_power(model: MeterModel) -> None:
    start = interval_floor(NOW)
    energy = model.registers(NOW).active_import_wh - model.registers(start).active_import_wh
    assert _read(model, "1-0:1.4.0.255") == pytest.approx(energy * 3600 / (NOW - start).total_seconds())
    on_the_quarter = _read(model, "1-0:1.4.0.255", start)
    assert on_the_quarter == model.interval(start - INTERVAL).active_import_wh * 4  # the period just ended


def test_demand_book_scans_on_and_keeps_closed_months(model: MeterModel) -> None:
    book = DemandBook(model)
    june = datetime(2026, 6, 1, tzinfo=UTC)
    records = model.intervals(june, interval_floor(NOW))
    best = max(records, key=lambda record: record.apparent_import_vah)
    found = book.maxima(NOW)[(9, 0)]
    assert found == Maximum(best.apparent_import_vah * 4, best.end)
    so_far = book.maxima(NOW)[(1, 0)].watts
    assert book.maxima(NOW + timedelta(hours=5))[(1, 0)].watts >= so_far  # the scan carries on
    may = book.maxima(june)  # May, closed: kept
    assert book.maxima(june) is may
    rated = [r for r in model.intervals(datetime(2026, 5, 1, tzinfo=UTC), june) if r.tou_rate == 2]
    assert may[(1, 2)].watts == max(r.active_import_wh for r in rated) * 4
