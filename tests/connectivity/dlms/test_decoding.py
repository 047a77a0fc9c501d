"""Decoded values as HES Core's types: date-times with their deviation, scaling, capture objects, gurux values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from gurux_dlms import GXBitString, GXByteBuffer, GXDLMSSettings  # type: ignore[import-untyped]
from gurux_dlms.internal._GXCommon import _GXCommon  # type: ignore[import-untyped]
from gurux_dlms.internal._GXDataInfo import _GXDataInfo  # type: ignore[import-untyped]

from hes.connectivity.dlms.decoding import capture_objects, date_time, date_time_parts, plain, scale, scaler_unit
from hes.connectivity.dlms.errors import MalformedAnswer
from hes.connectivity.dlms.values import BitString, ObjectReference
from hes.obis.codes import ObisCode

# 2024-05-06 (Monday) 07:08:09.50, deviation -60 (UTC+1, IEC 62056-6-2 sign), status 0x80 (daylight saving).
LOCAL_UTC_PLUS_1 = bytes.fromhex("07e8050601070809 32 ffc4 80".replace(" ", ""))


def _gurux(octets: str) -> object:
    """What gurux decodes from A-XDR `octets`."""
    return _GXCommon.getData(GXDLMSSettings(False, None), GXByteBuffer(bytes.fromhex(octets)), _GXDataInfo())


def test_a_date_time_with_deviation_is_converted_to_utc() -> None:
    assert date_time_parts(LOCAL_UTC_PLUS_1) == (datetime(2024, 5, 6, 7, 8, 9, 500_000), -60, 0x80)
    assert date_time(LOCAL_UTC_PLUS_1) == datetime(2024, 5, 6, 6, 8, 9, 500_000, tzinfo=UTC)
    west = LOCAL_UTC_PLUS_1[:9] + (300).to_bytes(2, "big", signed=True) + b"\x00"  # UTC-5
    assert date_time(west) == datetime(2024, 5, 6, 12, 8, 9, 500_000, tzinfo=UTC)


def test_a_date_time_without_deviation_is_local_time_in_the_meters_zone() -> None:
    unspecified = LOCAL_UTC_PLUS_1[:9] + b"\x80\x00\xff"
    assert date_time_parts(unspecified) == (datetime(2024, 5, 6, 7, 8, 9, 500_000), None, None)
    assert date_time(unspecified) == datetime(2024, 5, 6, 7, 8, 9, 500_000, tzinfo=UTC)  # no zone known: UTC
    assert date_time(unspecified, default_deviation=-120) == datetime(2024, 5, 6, 5, 8, 9, 500_000, tzinfo=UTC)
    no_hundredths = LOCAL_UTC_PLUS_1[:8] + b"\xff" + LOCAL_UTC_PLUS_1[9:]
    assert date_time(no_hundredths) == datetime(2024, 5, 6, 6, 8, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "octets",
    [
        b"",
        LOCAL_UTC_PLUS_1[:11],
        b"\xff\xff" + LOCAL_UTC_PLUS_1[2:],  # any year
        LOCAL_UTC_PLUS_1[:2] + b"\xff" + LOCAL_UTC_PLUS_1[3:],  # any month
        LOCAL_UTC_PLUS_1[:5] + b"\xff" + LOCAL_UTC_PLUS_1[6:],  # any hour
        LOCAL_UTC_PLUS_1[:2] + b"\x02\x1e" + LOCAL_UTC_PLUS_1[4:],  # 30 February
        LOCAL_UTC_PLUS_1[:2] + b"\x0d" + LOCAL_UTC_PLUS_1[3:],  # month 13
    ],
)
def test_octets_that_name_no_moment_give_none(octets: bytes) -> None:
    assert date_time(octets) is None
    assert date_time("text") is None and date_time(12) is None


def test_scaling_is_exact_in_decimal_and_leaves_non_numbers_alone() -> None:
    assert scale(12345, -3) == 12.345
    assert scale(2319, -1) == 231.9
    assert scale(7, 2) == 700 and isinstance(scale(7, 2), int)
    assert scale(5, 0) == 5
    assert scale(b"\x01", -3) == b"\x01" and scale(None, -3) is None and scale(True, 1) is True
    assert scaler_unit((-3, 30)) == (-3, 30)
    assert scaler_unit((b"x", 30)) is None and scaler_unit((1, 2, 3)) is None and scaler_unit(5) is None


def test_capture_objects_are_object_references_and_anything_else_is_malformed() -> None:
    clock = (8, bytes((0, 0, 1, 0, 0, 255)), 2, 0)
    assert capture_objects((clock,)) == (ObjectReference(8, ObisCode(0, 0, 1, 0, 0, 255), 2, 0),)
    for bad in (None, (clock[:3],), ((8, b"\x00", 2, 0),)):
        with pytest.raises(MalformedAnswer):
            capture_objects(bad)


def test_gurux_values_become_plain_values() -> None:
    assert plain(_gurux("0ffd")) == -3 and type(plain(_gurux("0ffd"))) is int
    assert plain(_gurux("020212000516 1e".replace(" ", ""))) == (5, 30)
    assert plain(_gurux("0903414243")) == b"ABC"
    assert plain(_gurux("0a03414243")) == "ABC"
    assert plain(_gurux("0410a55a")) == BitString(b"\xa5\x5a", 16)
    assert plain(GXBitString("101")) == BitString(b"\xa0", 3)
    assert plain(_gurux("00")) is None and plain(_gurux("0301")) is True
    assert plain(_gurux("19 07e8050601070809 00 0000 00".replace(" ", ""))) == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    with pytest.raises(MalformedAnswer):
        plain(object())
