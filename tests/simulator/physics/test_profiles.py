"""Tests of load shapes, seasonality, the solar shape and the time-of-use table."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from hes.simulator.physics import DEFAULT_TOU, ProfileClass, TouTable
from hes.simulator.physics.profiles import TRAITS, DayType, day_of_year, day_type, solar_shape
from tests.simulator.physics.factory import DAY, START, daily_import_wh, make_meter


@pytest.mark.parametrize("profile_class", list(ProfileClass))
def test_an_average_week_has_a_mean_daily_energy_of_one(profile_class: ProfileClass) -> None:
    weekday, saturday, sunday = TRAITS[profile_class].shapes

    assert all(len(shape) == 96 and min(shape) > 0.0 for shape in (weekday, saturday, sunday))
    assert (5 * sum(weekday) + sum(saturday) + sum(sunday)) / 7 == pytest.approx(1.0)


def test_weekday_and_weekend_shapes_differ() -> None:
    household = TRAITS[ProfileClass.RESIDENTIAL].shapes
    business = TRAITS[ProfileClass.COMMERCIAL].shapes

    # Households get up later at the weekend (7:00-7:15 vs 10:00-10:15 as the morning's busiest quarter).
    assert max(range(24, 48), key=lambda i: household[DayType.WEEKDAY][i]) < 36
    assert max(range(24, 48), key=lambda i: household[DayType.SUNDAY][i]) > 36
    # Shops and offices work on weekdays.
    assert sum(business[DayType.WEEKDAY]) > 2.5 * sum(business[DayType.SUNDAY])


def test_a_commercial_meter_uses_far_less_on_sunday() -> None:
    meter = make_meter(profile_class=ProfileClass.COMMERCIAL, scale_kwh_per_day=200.0)
    week = [daily_import_wh(meter, day) for day in range(7)]  # Monday to Sunday

    assert min(week[:5]) > 2 * week[6]
    assert week[5] > week[6], "Saturday morning trade"


def test_day_types() -> None:
    assert [day_type(date(2024, 3, day)) for day in range(4, 11)] == [DayType.WEEKDAY] * 5 + [
        DayType.SATURDAY,
        DayType.SUNDAY,
    ]


def test_households_use_more_in_winter_and_offices_in_summer() -> None:
    household, office = TRAITS[ProfileClass.RESIDENTIAL], TRAITS[ProfileClass.COMMERCIAL]

    assert household.season(15) == pytest.approx(1.15)
    assert household.season(197) < 0.86
    assert office.season(200) > office.season(15)
    assert _fortnight_wh(date(2024, 1, 8)) > 1.2 * _fortnight_wh(date(2024, 7, 8))


def _fortnight_wh(first: date) -> int:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return sum(record.active_import_wh for record in make_meter(start=start).intervals(start, start + 14 * DAY))


def test_solar_shape_is_dark_at_night_and_longer_in_summer() -> None:
    june, december = solar_shape(day_of_year(date(2024, 6, 21))), solar_shape(day_of_year(date(2024, 12, 21)))

    assert june[0] == june[95] == december[20] == 0.0
    assert max(range(96), key=lambda index: june[index]) in (47, 48)
    assert sum(june) > 2 * sum(december)
    assert sum(1 for value in june if value > 0) > sum(1 for value in december if value > 0)


def test_default_tou_table() -> None:
    assert DEFAULT_TOU.blocks == ((0, 24, 1), (24, 68, 2), (68, 88, 3), (88, 96, 4))
    assert DEFAULT_TOU.rates[0] == 1 and DEFAULT_TOU.rates[24] == 2 and DEFAULT_TOU.rates[95] == 4
    assert len(DEFAULT_TOU.rates) == 96


def test_a_tou_table_may_reuse_a_rate() -> None:
    table = TouTable(((time(0), 1), (time(7, 30), 2), (time(23), 1)))

    assert table.blocks == ((0, 30, 1), (30, 92, 2), (92, 96, 1))
    meter = make_meter(tou=table, start_registers=None)
    snapshot = meter.registers(START + 2 * DAY)
    assert snapshot.active_import_by_rate_wh[2:] == (0, 0)
    assert sum(snapshot.active_import_by_rate_wh) == snapshot.active_import_wh


@pytest.mark.parametrize(
    ("switches", "message"),
    [
        ((), "starts with a switch at 00:00"),
        (((time(1), 1),), "starts with a switch at 00:00"),
        (((time(0), 1), (time(6, 10), 2)), "quarter-hour"),
        (((time(0), 1), (time(6), 2), (time(6), 3)), "increase"),
        (((time(0), 5),), "rate 5"),
    ],
)
def test_bad_tou_tables_are_refused(switches: tuple[tuple[time, int], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TouTable(switches)
