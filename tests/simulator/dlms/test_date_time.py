"""The COSEM date-time codec: the 12 octets of IEC 62056-6-2 4.1.6.1, checked against gurux-dlms."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from gurux_dlms import GXByteBuffer, GXDateTime, GXDLMSSettings
from gurux_dlms.enums import DataType as GuruxType
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo

from hes.simulator.dlms import date_time
from hes.simulator.dlms.date_time import DEVIATION_NOT_SPECIFIED, decode_date_time, encode_date_time
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError

SETTINGS = GXDLMSSettings(True, None)


def gurux_encode(data_type: int, value: Any) -> bytes:
    """What gurux-dlms writes for (type, value)."""
    buffer = GXByteBuffer()
    _GXCommon.setData(SETTINGS, buffer, data_type, value)
    return bytes(buffer.array())


def gurux_decode(raw: bytes) -> Any:
    """What gurux-dlms reads from raw, which must be exactly one complete value."""
    buffer = GXByteBuffer(raw)
    info = _GXDataInfo()
    value = _GXCommon.getData(SETTINGS, buffer, info)
    assert info.complete and buffer.position == len(raw)
    return value


CET = timezone(timedelta(hours=1))


def test_date_time_layout_and_gurux_agreement() -> None:
    moment = datetime(2024, 3, 5, 13, 4, 5, 678_000, tzinfo=CET)

    raw = encode_date_time(moment)
    gurux = gurux_encode(GuruxType.DATETIME, GXDateTime(moment))[1:]

    # year, month, day, weekday (Tuesday = 2), h, m, s, hundredths, deviation -60 ("local time to UTC"), status
    assert raw == bytes.fromhex("07e80305020d040543ffc400")
    assert raw[:4] + raw[5:] == gurux[:4] + gurux[5:]  # gurux leaves the weekday unspecified (0xFF)
    assert decode_date_time(raw) == decode_date_time(gurux) == moment.replace(microsecond=670_000)


def test_date_time_utc_naive_and_explicit_fields() -> None:
    utc = encode_date_time(datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC))
    naive = encode_date_time(datetime(2023, 12, 31, 23, 59, 59))
    explicit = encode_date_time(datetime(2023, 12, 31, 23, 59, 59), deviation_minutes=180, status=0x80)

    assert utc[9:] == b"\x00\x00\x00"
    assert naive[9:] == b"\x80\x00\x00"
    assert explicit[9:] == b"\x00\xb4\x80"
    assert decode_date_time(naive) == datetime(2023, 12, 31, 23, 59, 59)
    assert decode_date_time(explicit) == datetime(2023, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-3)))
    assert decode_date_time(explicit) == datetime(2024, 1, 1, 2, 59, 59, tzinfo=UTC)


def test_date_time_read_by_gurux_with_deviation() -> None:
    moment = datetime(2025, 7, 1, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))

    read = gurux_decode(b"\x19" + encode_date_time(moment))

    assert read.value == moment


@pytest.mark.parametrize(
    "raw",
    [
        "ffff0305020d040543ffc400",  # year not specified
        "07e8ff05020d040543ffc400",  # month not specified
        "07e8fe05020d040543ffc400",  # DST begin pattern
        "07e803ff020d040543ffc400",  # day not specified
        "07e803fd020d040543ffc400",  # second-last day of month pattern
        "07e8030502ff040543ffc400",  # hour not specified
        "07e80305020dff0543ffc400",  # minute not specified
        "07e80305020d04ff43ffc400",  # second not specified
    ],
)
def test_date_time_not_specified_is_none(raw: str) -> None:
    assert decode_date_time(bytes.fromhex(raw)) is None


def test_date_time_unspecified_hundredths_weekday_and_status_are_tolerated() -> None:
    assert decode_date_time(bytes.fromhex("07e80305ff0d0405ff8000ff")) == datetime(2024, 3, 5, 13, 4, 5)


@pytest.mark.parametrize(
    "raw",
    [
        "07e80d05020d040543ffc400",  # month 13
        "07e8021e020d040543ffc400",  # 30 February
        "07e8030502180405 43ffc400",  # hour 24
        "07e80305020d3c0543ffc400",  # minute 60
        "07e80305020d043c43ffc400",  # second 60
        "07e80305020d040564ffc400",  # hundredths 100
        "07e80305020d04054303e800",  # deviation 1000
        "07e80300020d040543ffc400",  # day 0
        "07e80305020d040543ffc4",  # 11 octets
    ],
)
def test_date_time_out_of_range_is_a_remote_error(raw: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_date_time(bytes.fromhex(raw.replace(" ", "")))


@pytest.mark.parametrize(
    ("kwargs", "moment"),
    [
        ({"deviation_minutes": 721}, datetime(2024, 1, 1)),
        ({"status": 256}, datetime(2024, 1, 1)),
        ({}, datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30)))),
    ],
)
def test_date_time_encode_errors_are_local(kwargs: dict[str, int], moment: datetime) -> None:
    with pytest.raises(LocalProtocolError):
        encode_date_time(moment, **kwargs)


def test_explicit_not_specified_deviation_on_an_aware_moment() -> None:
    raw = encode_date_time(datetime(2024, 1, 1, tzinfo=CET), deviation_minutes=DEVIATION_NOT_SPECIFIED)

    assert struct.unpack(">H", raw[9:11]) == (0x8000,)
    assert decode_date_time(raw) == datetime(2024, 1, 1)


def test_module_exports() -> None:
    assert set(date_time.__all__) <= set(dir(date_time))
