"""A-XDR encoding of what the HES sends: each type, nesting, date-times, and values that cannot be encoded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from gurux_dlms import GXByteBuffer, GXDLMSSettings  # type: ignore[import-untyped]
from gurux_dlms.internal._GXCommon import _GXCommon  # type: ignore[import-untyped]
from gurux_dlms.internal._GXDataInfo import _GXDataInfo  # type: ignore[import-untyped]

from hes.connectivity.dlms.decoding import date_time, plain
from hes.connectivity.dlms.encoding import date_time_octets, encode, encode_length
from hes.connectivity.dlms.errors import LocalDlmsError
from hes.connectivity.dlms.values import BitString, DataType, DlmsData


@pytest.mark.parametrize(
    ("data", "octets"),
    [
        (DlmsData.null(), "00"),
        (DlmsData.boolean(True), "0301"),
        (DlmsData.integer(-3), "0ffd"),
        (DlmsData.long(-200), "10ff38"),
        (DlmsData.unsigned(255), "11ff"),
        (DlmsData.long_unsigned(900), "120384"),
        (DlmsData.double_long(-1), "05ffffffff"),
        (DlmsData.double_long_unsigned(16), "0600000010"),
        (DlmsData.enum(30), "161e"),
        (DlmsData.octets(b"AB"), "09024142"),
        (DlmsData.visible("AB"), "0a024142"),
        (DlmsData(DataType.BIT_STRING, BitString(b"\xa0", 3)), "0403a0"),
        (DlmsData(DataType.FLOAT32, 1.0), "173f800000"),
        (DlmsData.structure(DlmsData.integer(0), DlmsData.enum(30)), "02020f00161e"),
        (DlmsData.array(DlmsData.unsigned(1), DlmsData.unsigned(2)), "010211011102"),
    ],
)
def test_each_type_encodes_as_iec_62056_6_2_says_and_gurux_reads_it_back(data: DlmsData, octets: str) -> None:
    assert encode(data).hex() == octets
    decoded = _GXCommon.getData(GXDLMSSettings(False, None), GXByteBuffer(bytes.fromhex(octets)), _GXDataInfo())
    value = data.value
    if isinstance(value, tuple):
        assert plain(decoded) == tuple(item.value for item in value)
    elif data.type is not DataType.FLOAT32:
        assert plain(decoded) == value


def test_lengths_past_127_take_more_octets() -> None:
    assert encode_length(127) == b"\x7f"
    assert encode_length(128) == b"\x81\x80"
    assert encode_length(300) == b"\x82\x01\x2c"
    assert encode(DlmsData.octets(bytes(200)))[:3] == b"\x09\x81\xc8"


def test_a_date_time_is_sent_as_local_time_with_its_deviation_and_reads_back_the_same() -> None:
    moment = datetime(2024, 5, 6, 6, 8, 9, 500_000, tzinfo=UTC)
    assert date_time_octets(moment).hex() == "07e8050601060809320000" + "00"
    local = date_time_octets(moment, -60)  # UTC+1: 07:08:09 local
    assert local.hex() == "07e8050601070809" + "32" + "ffc4" + "00"
    assert date_time(local) == moment
    assert date_time_octets(moment.astimezone(timezone(timedelta(hours=3)))) == date_time_octets(moment)


def test_values_that_cannot_be_encoded_fail_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="does not fit unsigned"):
        DlmsData.unsigned(256)
    with pytest.raises(ValueError, match="holds an integer"):
        DlmsData(DataType.LONG, "7")
    with pytest.raises(ValueError):
        DlmsData.visible("é")
    with pytest.raises(LocalDlmsError, match="cannot be encoded as octet_string"):
        encode(DlmsData(DataType.OCTET_STRING, "text"))
    with pytest.raises(LocalDlmsError, match="timezone-aware"):
        date_time_octets(datetime(2024, 5, 6))
    with pytest.raises(LocalDlmsError, match="deviation"):
        date_time_octets(datetime(2024, 5, 6, tzinfo=UTC), 900)
