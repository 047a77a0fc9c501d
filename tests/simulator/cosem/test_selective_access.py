"""Selective access to a profile buffer: by range (only rows in range, only selected columns) and by entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hes.simulator.cosem import MeterObjects
from hes.simulator.cosem.conversions import UNSPECIFIED_DATE_TIME, capture_definition
from hes.simulator.dlms.apdu_services import AccessSelection, DataAccessResult
from hes.simulator.dlms.date_time import decode_date_time, encode_date_time
from hes.simulator.dlms.values import (
    NULL,
    Data,
    DataType,
    array,
    double_long_unsigned,
    integer,
    long_unsigned,
    octets,
    structure,
)
from tests.simulator.cosem.conftest import NOW, QUARTER, WAT, ln

LOAD_PROFILE = ln("1-0:99.1.0.255")
CLOCK = capture_definition(8, ln("0-0:1.0.0.255"), 2, 0)
IMPORT = capture_definition(3, ln("1-0:1.8.0.255"), 2, 0)
REACTIVE = capture_definition(3, ln("1-0:3.8.0.255"), 2, 0)


def _range(restricting: Data, low: Data, high: Data, *selected: Data) -> AccessSelection:
    return AccessSelection(1, structure(restricting, low, high, array(*selected)))


def _moment(value: datetime) -> Data:
    return octets(encode_date_time(value))


def _read(meter: MeterObjects, access: AccessSelection) -> list[Data]:
    result = meter.get(7, LOAD_PROFILE, 2, access)
    assert isinstance(result, Data) and result.type is DataType.ARRAY, result
    return list(result.items)


def _times(rows: list[Data]) -> list[datetime | None]:
    return [decode_date_time(row.items[0].value) for row in rows]  # type: ignore[arg-type]


def test_range_returns_only_rows_in_range(meter: MeterObjects) -> None:
    low, high = datetime(2024, 5, 1, 6, 0, tzinfo=WAT), datetime(2024, 5, 1, 8, 0, tzinfo=WAT)
    rows = _read(meter, _range(CLOCK, _moment(low), _moment(high)))
    assert _times(rows) == [low + n * QUARTER for n in range(9)]  # both ends included
    assert all(len(row.items) == 6 for row in rows)


def test_range_returns_only_the_selected_columns(meter: MeterObjects) -> None:
    low, high = datetime(2024, 5, 1, 6, 0, tzinfo=WAT), datetime(2024, 5, 1, 6, 30, tzinfo=WAT)
    rows = _read(meter, _range(CLOCK, _moment(low), _moment(high), REACTIVE, CLOCK))
    assert [row.items[0].type for row in rows] == [DataType.DOUBLE_LONG_UNSIGNED] * 3
    assert [len(row.items) for row in rows] == [2, 2, 2]
    assert [decode_date_time(row.items[1].value) for row in rows] == [low, low + QUARTER, high]  # type: ignore[arg-type]


def test_range_bounds_in_another_zone_or_open(meter: MeterObjects) -> None:
    low = datetime(2024, 5, 1, 5, 0, tzinfo=UTC)  # 06:00 at the meter
    rows = _read(meter, _range(CLOCK, _moment(low), _moment(low + timedelta(minutes=30))))
    assert _times(rows)[0] == low
    open_start = _read(meter, _range(CLOCK, octets(UNSPECIFIED_DATE_TIME), _moment(NOW - 93 * QUARTER)))
    assert len(open_start) == 3  # the day's first three rows: NOW - 95, 94 and 93 quarters
    assert len(_read(meter, _range(CLOCK, _moment(NOW + QUARTER), _moment(NOW + 4 * QUARTER)))) == 0


def test_range_on_a_counter_column(meter: MeterObjects) -> None:
    rows = _read(meter, _range(IMPORT, double_long_unsigned(10_000), double_long_unsigned(10_500), IMPORT))
    assert [row.items[0].value for row in rows] == [10_000, 10_250, 10_500]


@pytest.mark.parametrize(
    ("access", "result"),
    [
        (AccessSelection(1, array()), DataAccessResult.TYPE_UNMATCHED),
        (AccessSelection(1, structure(CLOCK, NULL, NULL)), DataAccessResult.TYPE_UNMATCHED),
        (_range(structure(integer(8)), NULL, NULL), DataAccessResult.TYPE_UNMATCHED),
        (_range(CLOCK, octets(bytes(5)), _moment(NOW)), DataAccessResult.TYPE_UNMATCHED),
        (_range(CLOCK, double_long_unsigned(1), double_long_unsigned(2)), DataAccessResult.TYPE_UNMATCHED),
        (_range(CLOCK, _moment(NOW), Data(DataType.VISIBLE_STRING, "now")), DataAccessResult.TYPE_UNMATCHED),
        (_range(capture_definition(3, ln("1-0:32.7.0.255"), 2, 0), _moment(NOW), _moment(NOW)), 250),
        (_range(CLOCK, _moment(NOW), _moment(NOW), capture_definition(3, ln("1-0:9.8.0.255"), 2, 0)), 250),
        (AccessSelection(3, NULL), DataAccessResult.OTHER_REASON),
    ],
)
def test_bad_selective_access_is_refused(meter: MeterObjects, access: AccessSelection, result: int) -> None:
    assert meter.get(7, LOAD_PROFILE, 2, access) == result


def _entries(first: int, last: int, first_column: int = 1, last_column: int = 0) -> AccessSelection:
    return AccessSelection(
        2,
        structure(
            double_long_unsigned(first),
            double_long_unsigned(last),
            long_unsigned(first_column),
            long_unsigned(last_column),
        ),
    )


def test_entries_by_number_and_columns(meter: MeterObjects) -> None:
    rows = _read(meter, _entries(2, 4))
    assert [row.items[2].value for row in rows] == [10_250, 10_500, 10_750]
    columns = _read(meter, _entries(1, 2, 3, 4))
    assert [[cell.value for cell in row.items] for row in columns] == [[10_000, 0], [10_250, 0]]
    assert len(_read(meter, _entries(95, 0))) == 2  # to_entry 0: up to the last
    assert _read(meter, _entries(200, 300)) == []


def test_bad_entry_descriptors_are_refused(meter: MeterObjects) -> None:
    assert meter.get(7, LOAD_PROFILE, 2, _entries(1, 2, 3, 7)) is DataAccessResult.OTHER_REASON
    assert meter.get(7, LOAD_PROFILE, 2, _entries(1, 2, 4, 3)) is DataAccessResult.OTHER_REASON
    bad = AccessSelection(2, structure(integer(-1), double_long_unsigned(1), long_unsigned(1), long_unsigned(0)))
    assert meter.get(7, LOAD_PROFILE, 2, bad) is DataAccessResult.TYPE_UNMATCHED


def test_selective_access_only_on_the_buffer(meter: MeterObjects) -> None:
    assert meter.get(7, LOAD_PROFILE, 3, _entries(1, 1)) is DataAccessResult.OTHER_REASON
    assert meter.get(3, ln("1-0:1.8.0.255"), 2, _entries(1, 1)) is DataAccessResult.OTHER_REASON
