"""Readings as columns: built from single readings, joined across submissions, thinned to the new ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hes.ingest.records import IncomingReading, ReadingColumns
from hes.obis.codes import ObisCode

ENERGY = ObisCode.parse("1-0:1.8.0.255")
VOLTAGE = ObisCode.parse("1-0:32.7.0.255")
CURRENT = ObisCode.parse("1-0:31.7.0.255")
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _codes_of(columns: ReadingColumns) -> list[ObisCode]:
    return [columns.codes[index] for index in columns.code_index]


def test_individual_readings_become_dictionary_encoded_columns() -> None:
    readings = [
        IncomingReading(1, ENERGY, NOW, 1.0),
        IncomingReading(2, VOLTAGE, NOW, 230.0, "V"),
        IncomingReading(1, ENERGY, NOW + timedelta(minutes=15), 1.5),
    ]
    columns = ReadingColumns.of(readings)
    assert list(columns.codes) == [ENERGY, VOLTAGE]
    assert list(columns.code_index) == [0, 1, 0]
    assert list(columns.take([2]).values) == [1.5]


def test_submissions_join_under_one_code_list_in_order() -> None:
    first = ReadingColumns.of([IncomingReading(1, VOLTAGE, NOW, 230.0), IncomingReading(1, ENERGY, NOW, 5.0)])
    second = ReadingColumns.of([IncomingReading(2, ENERGY, NOW, 7.0), IncomingReading(2, CURRENT, NOW, 3.0)])
    joined = ReadingColumns.joined([first, second])
    assert list(joined.codes) == [VOLTAGE, ENERGY, CURRENT]
    assert _codes_of(joined) == [VOLTAGE, ENERGY, ENERGY, CURRENT]
    assert (list(joined.meter_ids), list(joined.values)) == ([1, 1, 2, 2], [230.0, 5.0, 7.0, 3.0])
    assert ReadingColumns.joined([first]) is first


def test_repeats_are_left_out_by_position() -> None:
    columns = ReadingColumns.of([IncomingReading(meter, ENERGY, NOW, float(meter)) for meter in range(5)])
    assert list(columns.without([0, 3]).meter_ids) == [1, 2, 4]
    assert columns.without([]) is columns
    assert len(columns.without(range(5))) == 0
