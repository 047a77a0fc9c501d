"""The value types a session hands out: bit-strings, readings, profile entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hes.connectivity.dlms.values import (
    BitString,
    ClockReading,
    ColumnKind,
    ObjectReference,
    ProfileColumn,
    ProfileReading,
    ProfileRow,
)
from hes.obis.codes import ObisCode

CLOCK, ENERGY, STATUS = (ObisCode.parse(code) for code in ("0-0:1.0.0.255", "1-0:1.8.0.255", "0-0:96.10.1.255"))


def test_a_bit_string_reads_bit_by_bit_from_the_first_octets_high_bit() -> None:
    word = BitString(b"\xa0\x01", 16)
    assert [word.bit(index) for index in (0, 1, 2, 15)] == [True, False, True, True]
    assert str(BitString(b"\xa0", 3)) == "101"
    with pytest.raises(IndexError):
        word.bit(16)
    with pytest.raises(ValueError, match="do not hold exactly"):
        BitString(b"\x00\x00", 3)


def test_clock_drift_is_meter_minus_hes() -> None:
    hes = datetime(2024, 5, 6, tzinfo=UTC)
    assert ClockReading(hes + timedelta(seconds=90), hes, 0, 0).drift == timedelta(seconds=90)
    assert ClockReading(hes - timedelta(seconds=5), hes, None, None).drift == timedelta(seconds=-5)


def test_profile_entries_are_one_per_value_without_the_timestamp_column() -> None:
    columns = (
        ProfileColumn(ObjectReference(8, CLOCK, 2), ColumnKind.TIME),
        ProfileColumn(ObjectReference(1, STATUS, 2), ColumnKind.RAW),
        ProfileColumn(ObjectReference(3, ENERGY, 2), ColumnKind.SCALED, -3, "kWh"),
    )
    first = datetime(2024, 5, 6, tzinfo=UTC)
    rows = tuple(
        ProfileRow(first + timedelta(minutes=15 * i), (first + timedelta(minutes=15 * i), 0, i / 2)) for i in range(2)
    )
    reading = ProfileReading(ObisCode.parse("1-0:99.1.0.255"), columns, 0, rows)
    assert [(e.timestamp.minute, str(e.obis), e.value, e.unit) for e in reading.entries()] == [
        (0, "0-0:96.10.1.255", 0, None),
        (0, "1-0:1.8.0.255", 0.0, "kWh"),
        (15, "0-0:96.10.1.255", 0, None),
        (15, "1-0:1.8.0.255", 0.5, "kWh"),
    ]
