"""Tests of interval records and instantaneous values for exporting (prosumer) meters."""

from __future__ import annotations

from hes.simulator.physics import ProfileClass
from tests.simulator.physics.factory import DAY, HOUR, MINUTE, START, make_meter


def test_a_prosumer_exports_at_midday_and_imports_at_night() -> None:
    meter = make_meter(reverse_flow=True, seed=11)
    assert meter.pv_peak_kw > 0.0
    day = START + 2 * DAY

    midday = meter.intervals(day + 11 * HOUR, day + 13 * HOUR)
    evening = meter.intervals(day + 19 * HOUR, day + 21 * HOUR)
    assert all(record.active_export_wh > 0 and record.active_import_wh == 0 for record in midday)
    assert all(record.average_power_w < 0.0 for record in midday)
    assert all(record.active_import_wh > 0 and record.active_export_wh == 0 for record in evening)
    now = meter.instantaneous(day + 12 * HOUR + 7 * MINUTE)
    assert now.active_power_export_w > 0.0 and now.active_power_import_w == 0.0
    assert now.current_a[0] > 0.0
    before, after = meter.registers(day + 11 * HOUR), meter.registers(day + 13 * HOUR)
    assert after.active_export_wh - before.active_export_wh == sum(r.active_export_wh for r in midday)
    assert after.active_export_by_rate_wh[1] > before.active_export_by_rate_wh[1], "exported in the day rate"


def test_a_consumer_never_exports() -> None:
    meter = make_meter(profile_class=ProfileClass.COMMERCIAL, phases=3, scale_kwh_per_day=150.0)

    assert meter.pv_peak_kw == 0.0
    assert all(record.active_export_wh == 0 for record in meter.intervals(START, START + 3 * DAY))


def test_interval_times_and_rates() -> None:
    records = make_meter().intervals(START, START + DAY)

    assert [record.start for record in records[:2]] == [START, START + 15 * MINUTE]
    assert all(record.end - record.start == 15 * MINUTE for record in records)
    assert [record.tou_rate for record in records[::8]] == [1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 4]
    assert all(record.relay_connected and record.supply_present and not record.power_down for record in records)
