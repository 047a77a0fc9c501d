"""Normalising submissions: UTC times, naive and far-future times refused, values finite and in range, meters known."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hes.db.enums import EventCategory, ReadingQuality, ReadingSource
from hes.ingest.normalise import MAX_ABS_VALUE, Limits, normalise_events, normalise_readings
from hes.ingest.records import IncomingEvent, ReadingColumns
from hes.obis.codes import ObisCode

ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(future_tolerance=timedelta(minutes=5))


def _columns(times: list[datetime], values: list[float], meters: list[int] | None = None) -> ReadingColumns:
    size = len(times)
    return ReadingColumns(
        meter_ids=meters or [1] * size,
        codes=[ENERGY, VOLTAGE],
        code_index=[index % 2 for index in range(size)],
        timestamps=times,
        values=values,
        units=["kWh"] * size,
        qualities=[ReadingQuality.GOOD] * size,
        sources=[ReadingSource.HTTP] * size,
    )


def test_clean_columns_pass_through_unchanged() -> None:
    columns = _columns([NOW, NOW - timedelta(minutes=15)], [1.5, 231.0])
    clean, rejected = normalise_readings(columns, NOW, LIMITS, {1})
    assert clean is columns
    assert rejected == []


def test_other_offsets_become_utc_and_the_same_instant() -> None:
    lagos = timezone(timedelta(hours=1))
    columns = _columns([datetime(2025, 3, 1, 13, 0, tzinfo=lagos), NOW], [1.0, 2.0])
    clean, rejected = normalise_readings(columns, NOW, LIMITS, {1})
    assert rejected == []
    assert [moment.tzinfo for moment in clean.timestamps] == [UTC, UTC]
    assert clean.timestamps[0] == NOW


def test_each_fault_is_refused_by_position_and_the_rest_kept() -> None:
    times = [
        NOW,
        datetime(2025, 3, 1, 12, 0),  # naive
        NOW + timedelta(minutes=6),  # beyond the 5-minute tolerance
        NOW + timedelta(minutes=4),  # within it
        NOW,
        NOW,
        NOW,
    ]
    values = [1.0, 2.0, 3.0, 4.0, math.nan, math.inf, MAX_ABS_VALUE * 10]
    clean, rejected = normalise_readings(_columns(times, values), NOW, LIMITS, {1})
    assert [(r.index, r.field, r.reason) for r in rejected] == [
        (1, "timestamp", "naive_timestamp"),
        (2, "timestamp", "future_timestamp"),
        (4, "value", "not_finite"),
        (5, "value", "not_finite"),
        (6, "value", "out_of_range"),
    ]
    assert list(clean.values) == [1.0, 4.0]
    # The OBIS code of each kept reading follows it.
    assert [clean.codes[index] for index in clean.code_index] == [ENERGY, VOLTAGE]


def test_unknown_meters_are_refused() -> None:
    clean, rejected = normalise_readings(_columns([NOW, NOW], [1.0, 2.0], meters=[1, 99]), NOW, LIMITS, {1})
    assert [(r.index, r.field, r.reason, r.value) for r in rejected] == [(1, "meterId", "unknown_meter", 99)]
    assert list(clean.meter_ids) == [1]


def test_a_value_that_is_no_number_is_refused_and_booleans_read_as_numbers() -> None:
    columns = _columns([NOW, NOW, NOW], ["12", True, 3])  # type: ignore[list-item]
    clean, rejected = normalise_readings(columns, NOW, LIMITS, {1})
    assert [(r.index, r.reason) for r in rejected] == [(0, "wrong_type")]
    assert list(clean.values) == [1.0, 3.0]


def test_columns_of_different_lengths_are_a_callers_bug() -> None:
    columns = _columns([NOW, NOW], [1.0])
    with pytest.raises(ValueError, match="differ in length"):
        normalise_readings(columns, NOW, LIMITS, {1})


def test_events_are_normalised_like_readings() -> None:
    def event(meter_id: int, moment: datetime) -> IncomingEvent:
        return IncomingEvent(meter_id, "power_down", moment, EventCategory.POWER)

    lagos = timezone(timedelta(hours=1))
    events = [
        event(1, datetime(2025, 3, 1, 13, 0, tzinfo=lagos)),
        event(1, datetime(2025, 3, 1, 12, 0)),
        event(1, NOW + timedelta(hours=1)),
        event(7, NOW),
    ]
    kept, rejected = normalise_events(events, NOW, LIMITS, {1})
    assert [event.timestamp for event in kept] == [NOW]
    assert kept[0].timestamp.tzinfo is UTC
    assert [(r.index, r.reason) for r in rejected] == [
        (1, "naive_timestamp"),
        (2, "future_timestamp"),
        (3, "unknown_meter"),
    ]


STORED_UNITS = {ENERGY: "Wh", VOLTAGE: "V"}


def test_values_sent_in_another_unit_of_their_quantity_are_stored_in_the_codes_unit() -> None:
    columns = replace(_columns([NOW] * 4, [4.35, 0.231, 1.0, 231.0]), units=["kWh", "kV", "Wh", None])
    clean, rejected = normalise_readings(columns, NOW, LIMITS, {1}, STORED_UNITS)
    assert rejected == []
    assert list(clean.values) == [4350.0, 231.0, 1.0, 231.0]
    assert list(clean.units) == ["Wh", "V", "Wh", None]


def test_a_unit_of_another_quantity_is_refused_where_it_stands() -> None:
    times = [NOW, NOW, NOW + timedelta(hours=1), NOW]
    columns = replace(_columns(times, [1.0, 2.0, 3.0, 4.0]), units=["kWh", "Wh", "kWh", "V"])
    clean, rejected = normalise_readings(columns, NOW, LIMITS, {1}, STORED_UNITS)
    assert [(item.index, item.field, item.reason, item.value) for item in rejected] == [
        (1, "unit", "wrong_unit", "Wh"),  # a voltage code sent in Wh
        (2, "timestamp", "future_timestamp", (NOW + timedelta(hours=1)).isoformat()),
    ]
    assert list(clean.values) == [1000.0, 4.0]
