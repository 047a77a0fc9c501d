"""Clock: the meter's local time, zone and settings; setting, shifting and rounding the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hes.simulator.cosem import InMemoryMeterState, MeterObjects
from hes.simulator.cosem.conversions import UNSPECIFIED_DATE_TIME
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.date_time import DEVIATION_NOT_SPECIFIED, decode_date_time, encode_date_time
from hes.simulator.dlms.values import Data, DataType, boolean, enum, integer, octets
from tests.simulator.cosem.conftest import NOW, PUBLIC, READING, WAT, ln

CLOCK = ln("0-0:1.0.0.255")


def test_clock_attributes(meter: MeterObjects) -> None:
    time = meter.get(8, CLOCK, 2)
    assert isinstance(time, Data) and time.type is DataType.OCTET_STRING
    assert time.value == bytes.fromhex("07e80501030c0000 00ffc400".replace(" ", ""))  # 2024-05-01 Wed 12:00, -60
    assert meter.get(8, CLOCK, 3) == Data(DataType.LONG, -60)  # UTC+1, with the deviation field's sign
    assert meter.get(8, CLOCK, 4) == Data(DataType.UNSIGNED, 0)
    assert meter.get(8, CLOCK, 5) == octets(UNSPECIFIED_DATE_TIME)
    assert meter.get(8, CLOCK, 6) == octets(UNSPECIFIED_DATE_TIME)
    assert meter.get(8, CLOCK, 7) == integer(60)
    assert meter.get(8, CLOCK, 8) == boolean(False)
    assert meter.get(8, CLOCK, 9) == enum(1)


def test_setting_the_time_moves_the_meter_clock(meter: MeterObjects, state: InMemoryMeterState) -> None:
    later = datetime(2024, 5, 2, 8, 30, 15, tzinfo=UTC)  # sent in UTC, kept in the meter's zone
    assert meter.set(8, CLOCK, 2, None, octets(encode_date_time(later))) is DataAccessResult.SUCCESS
    assert state.now == later and state.now.utcoffset() == timedelta(hours=1)
    local = datetime(2024, 5, 3, 7, 0)  # no deviation: the meter's local time
    raw = encode_date_time(local, deviation_minutes=DEVIATION_NOT_SPECIFIED)
    assert meter.set(8, CLOCK, 2, None, octets(raw)) is DataAccessResult.SUCCESS
    assert state.now == local.replace(tzinfo=WAT)
    assert state.writes[-1][1] == 2


@pytest.mark.parametrize(
    ("value", "result"),
    [
        (Data(DataType.VISIBLE_STRING, "2024-05-02"), DataAccessResult.TYPE_UNMATCHED),
        (octets(bytes(11)), DataAccessResult.TYPE_UNMATCHED),
        (octets(UNSPECIFIED_DATE_TIME), DataAccessResult.OTHER_REASON),  # wildcards: not one moment
        (octets(bytes.fromhex("07e8021e05000000 00000000".replace(" ", ""))), DataAccessResult.OTHER_REASON),  # 30 Feb
    ],
)
def test_a_bad_time_is_refused(
    meter: MeterObjects, state: InMemoryMeterState, value: Data, result: DataAccessResult
) -> None:
    assert meter.set(8, CLOCK, 2, None, value) is result
    assert state.now == NOW


def test_time_zone_is_written_within_twelve_hours(meter: MeterObjects) -> None:
    assert meter.set(8, CLOCK, 3, None, Data(DataType.LONG, -120)) is DataAccessResult.SUCCESS
    assert meter.get(8, CLOCK, 3) == Data(DataType.LONG, -120)
    assert meter.set(8, CLOCK, 3, None, Data(DataType.LONG, 900)) is DataAccessResult.OTHER_REASON
    assert meter.set(8, CLOCK, 3, None, integer(60)) is DataAccessResult.TYPE_UNMATCHED


def test_shift_time(meter: MeterObjects, state: InMemoryMeterState) -> None:
    assert meter.action(8, CLOCK, 6, Data(DataType.LONG, -30)) is None
    assert state.now == NOW - timedelta(seconds=30)
    assert meter.action(8, CLOCK, 6, Data(DataType.LONG, 901)) is ActionResult.OTHER_REASON
    assert meter.action(8, CLOCK, 6, integer(5)) is ActionResult.TYPE_UNMATCHED
    assert meter.action(8, CLOCK, 6, None) is ActionResult.TYPE_UNMATCHED


def test_adjust_to_quarter_and_minute(meter: MeterObjects, state: InMemoryMeterState) -> None:
    state.now = NOW + timedelta(minutes=7, seconds=40)
    assert meter.action(8, CLOCK, 1, integer(0)) is None
    assert state.now == NOW + timedelta(minutes=15)
    state.now = NOW + timedelta(minutes=7, seconds=20)
    assert meter.action(8, CLOCK, 1, integer(0)) is None
    assert state.now == NOW
    state.now = NOW + timedelta(minutes=7, seconds=40)
    assert meter.action(8, CLOCK, 3, integer(0)) is None
    assert state.now == NOW + timedelta(minutes=8)


def test_clients_without_rights(meter: MeterObjects) -> None:
    public = meter.for_client(PUBLIC)
    assert isinstance(public.get(8, CLOCK, 2), Data)
    assert public.set(8, CLOCK, 2, None, octets(encode_date_time(NOW))) is DataAccessResult.READ_WRITE_DENIED
    assert public.get(8, CLOCK, 5) is DataAccessResult.READ_WRITE_DENIED
    assert meter.for_client(READING).action(8, CLOCK, 6, Data(DataType.LONG, 5)) is ActionResult.READ_WRITE_DENIED
    # adjust_to_measuring_period is not offered to any client
    assert meter.action(8, CLOCK, 2, integer(0)) is ActionResult.READ_WRITE_DENIED


def test_time_reads_back_as_the_moment(meter: MeterObjects, state: InMemoryMeterState) -> None:
    state.now = datetime(2024, 12, 31, 23, 59, 59, 990_000, tzinfo=WAT)
    time = meter.get(8, CLOCK, 2)
    assert isinstance(time, Data) and isinstance(time.value, bytes)
    assert decode_date_time(time.value) == state.now
