"""Register steps (advance, jitter, rollover, reset) and hour rows from one register's readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.services.energy_registers import (
    ENERGY_REGISTERS,
    Anchor,
    Direction,
    RegisterScale,
    Step,
    hour_index,
    hour_rows,
    hour_start,
    kwh_per_unit,
    start_index,
    step,
)

WH = RegisterScale.for_unit("Wh")
MIDNIGHT = datetime(2025, 3, 3, tzinfo=UTC)
UINT32 = 2**32


def test_catalogue_has_one_import_and_one_export_register() -> None:
    directions = [register.direction for register in ENERGY_REGISTERS]
    assert sorted(directions) == [Direction.EXPORT, Direction.IMPORT]
    assert {str(register.obis) for register in ENERGY_REGISTERS} == {"1-0:1.8.0.255", "1-0:2.8.0.255"}


def test_units_convert_to_kwh_and_unknown_units_are_wh() -> None:
    assert kwh_per_unit("Wh") == 0.001
    assert kwh_per_unit("kWh") == 1.0
    assert kwh_per_unit(None) == 0.001
    assert kwh_per_unit("V") == 0.001


def test_a_reading_belongs_to_the_hour_it_closes() -> None:
    assert hour_start(hour_index(MIDNIGHT + timedelta(hours=1))) == MIDNIGHT
    assert hour_start(hour_index(MIDNIGHT + timedelta(minutes=15))) == MIDNIGHT
    assert hour_start(hour_index(MIDNIGHT + timedelta(hours=1, microseconds=1))) == MIDNIGHT + timedelta(hours=1)
    assert start_index(MIDNIGHT) == hour_index(MIDNIGHT + timedelta(minutes=30))


def test_steps() -> None:
    assert step(1000.0, 1250.0, WH) == (250.0, 1250.0, Step.ADVANCE)
    assert step(1000.0, 995.0, WH) == (0.0, 1000.0, Step.JITTER)
    assert step(UINT32 - 296.0, 3000.0, WH) == (3296.0, 3000.0, Step.ROLLOVER)
    assert step(999_999_000.0, 500.0, WH) == (1500.0, 500.0, Step.ROLLOVER)  # a 6-digit kWh display
    assert step(50_000_000.0, 200.0, WH) == (0.0, 200.0, Step.RESET)  # a replaced meter
    assert step(UINT32 - 296.0, UINT32 / 2, WH) == (0.0, UINT32 / 2, Step.RESET)  # not near zero: no wrap


def test_scale_follows_the_unit() -> None:
    kwh = RegisterScale.for_unit("kWh")
    assert step(999_999.0, 1.0, kwh) == (2.0, 1.0, Step.ROLLOVER)
    assert step(1000.0, 999.995, kwh)[2] is Step.JITTER


def _quarters(start: datetime, first_value: float, count: int, per_quarter: float) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=15 * i), first_value + per_quarter * i) for i in range(count)]


def test_hour_rows_chain_from_the_anchor_and_telescope() -> None:
    readings = _quarters(MIDNIGHT + timedelta(minutes=15), 1250.0, 8, 250.0)  # 00:15 .. 02:00
    rows = hour_rows(Anchor(start_index(MIDNIGHT) - 1, 1000.0), readings, WH)
    assert [(hour_start(row.hour), row.delta, row.samples, row.complete) for row in rows] == [
        (MIDNIGHT, 1000.0, 4, True),
        (MIDNIGHT + timedelta(hours=1), 1000.0, 4, True),
    ]
    assert rows[-1].last_value == 3000.0


def test_first_reading_ever_and_gaps_are_incomplete() -> None:
    readings = [(MIDNIGHT + timedelta(minutes=30), 100.0), (MIDNIGHT + timedelta(hours=3), 400.0)]
    rows = hour_rows(None, readings, WH)
    assert [(row.hour - rows[0].hour, row.delta, row.complete) for row in rows] == [(0, 0.0, False), (2, 300.0, False)]


def test_reset_counts_from_the_new_base_and_marks_the_hour() -> None:
    readings = [(MIDNIGHT + timedelta(minutes=m), v) for m, v in ((15, 1500.0), (30, 20.0), (45, 520.0))]
    (row,) = hour_rows(Anchor(start_index(MIDNIGHT) - 1, 1000.0), readings, WH)
    assert (row.delta, row.resets, row.rollovers, row.complete, row.last_value) == (1000.0, 1, 0, False, 520.0)


def test_jitter_keeps_the_higher_base() -> None:
    readings = [(MIDNIGHT + timedelta(minutes=m), v) for m, v in ((15, 1000.0), (30, 995.0), (45, 1500.0))]
    (row,) = hour_rows(Anchor(start_index(MIDNIGHT) - 1, 1000.0), readings, WH)
    assert (row.delta, row.resets, row.complete) == (500.0, 0, True)
