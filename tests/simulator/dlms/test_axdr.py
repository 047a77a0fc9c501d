"""Tests of the A-XDR codec, cross-checked byte for byte against gurux-dlms (an independent implementation)."""

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from gurux_dlms import GXByteBuffer, GXDLMSSettings
from gurux_dlms.enums import DataType as GuruxType
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo
from hypothesis import given
from hypothesis import strategies as st

from hes.simulator.dlms import axdr
from hes.simulator.dlms.axdr import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_OCTETS,
    decode_data,
    decode_length,
    encode_data,
    encode_length,
    pre_encoded,
)
from hes.simulator.dlms.date_time import encode_date_time
from hes.simulator.dlms.errors import LocalProtocolError, RemoteProtocolError
from hes.simulator.dlms.values import (
    INTEGER_WIDTHS,
    NULL,
    BitString,
    Data,
    DataType,
    array,
    boolean,
    double_long_unsigned,
    enum,
    integer,
    long_unsigned,
    octets,
    structure,
    unsigned,
)

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
    assert info.complete
    assert buffer.position == len(raw)
    return value


# ------------------------------------------------------------------------------------------------ lengths


@pytest.mark.parametrize("n", [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0xFFFFFFFF])
def test_length_matches_gurux_and_round_trips(n: int) -> None:
    expected = GXByteBuffer()
    _GXCommon.setObjectCount(n, expected)

    raw = encode_length(n)

    assert raw == bytes(expected.array())
    assert _GXCommon.getObjectCount(GXByteBuffer(raw)) == n
    assert decode_length(b"\xaa" + raw + b"\xbb", 1) == (n, 1 + len(raw))


def test_length_accepts_three_octet_and_non_minimal_forms() -> None:
    assert decode_length(b"\x83\x01\x00\x00", 0) == (0x10000, 4)
    assert decode_length(b"\x82\x00\x05", 0) == (5, 3)


@pytest.mark.parametrize("raw", [b"", b"\x80", b"\x85\x00\x00\x00\x00\x01", b"\x81", b"\x82\x01", b"\x84\x00\x00\x01"])
def test_bad_length_is_a_remote_error(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_length(raw, 0)


@pytest.mark.parametrize("n", [-1, 1 << 32])
def test_unencodable_length_is_a_local_error(n: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode_length(n)


# ------------------------------------------------------------------------------------------------ each type

LOGICAL_NAME = bytes([1, 0, 1, 8, 0, 255])

# (our value, gurux type, gurux value to encode, what gurux decodes from our bytes)
VECTORS: list[tuple[Data, int, Any, Any]] = [
    (NULL, GuruxType.NONE, None, None),
    (boolean(True), GuruxType.BOOLEAN, True, True),
    (boolean(False), GuruxType.BOOLEAN, False, False),
    (Data(DataType.DOUBLE_LONG, -123456789), GuruxType.INT32, -123456789, -123456789),
    (double_long_unsigned(0xFEDCBA98), GuruxType.UINT32, 0xFEDCBA98, 0xFEDCBA98),
    (octets(LOGICAL_NAME), GuruxType.OCTET_STRING, LOGICAL_NAME, LOGICAL_NAME),
    (octets(b""), GuruxType.OCTET_STRING, b"", b""),
    (octets(bytes(200)), GuruxType.OCTET_STRING, bytes(200), bytes(200)),
    (Data(DataType.VISIBLE_STRING, "HXE310"), GuruxType.STRING, "HXE310", "HXE310"),
    (Data(DataType.UTF8_STRING, "Zurich"), GuruxType.STRING_UTF8, "Zurich", "Zurich"),
    # gurux shows a non-ASCII utf8-string as the hex of its octets: the octets are what matter.
    (Data(DataType.UTF8_STRING, "Zürich ☀"), GuruxType.STRING_UTF8, "Zürich ☀", "5A C3 BC 72 69 63 68 20 E2 98 80"),
    (Data(DataType.BCD, 0x12), GuruxType.BCD, 0x12, 0x12),
    (integer(-128), GuruxType.INT8, -128, -128),
    (Data(DataType.LONG, -2), GuruxType.INT16, -2, -2),
    (unsigned(255), GuruxType.UINT8, 255, 255),
    (long_unsigned(513), GuruxType.UINT16, 513, 513),
    (Data(DataType.LONG64, -(1 << 63)), GuruxType.INT64, -(1 << 63), -(1 << 63)),
    (Data(DataType.LONG64_UNSIGNED, (1 << 64) - 1), GuruxType.UINT64, (1 << 64) - 1, (1 << 64) - 1),
    (enum(3), GuruxType.ENUM, 3, 3),
    (Data(DataType.FLOAT32, 1.5), GuruxType.FLOAT32, 1.5, 1.5),
    (Data(DataType.FLOAT64, -2.25), GuruxType.FLOAT64, -2.25, -2.25),
]


@pytest.mark.parametrize(("value", "gurux_type", "gurux_value", "gurux_reads"), VECTORS)
def test_each_type_matches_gurux(value: Data, gurux_type: int, gurux_value: Any, gurux_reads: Any) -> None:
    raw = encode_data(value)

    assert raw == gurux_encode(gurux_type, gurux_value)
    reads = gurux_decode(raw)
    assert (bytes(reads) if isinstance(reads, bytearray) else reads) == gurux_reads
    assert decode_data(raw) == (value, len(raw))


def test_floats_are_big_endian_ieee754() -> None:
    assert encode_data(Data(DataType.FLOAT32, 1.0)) == b"\x17\x3f\x80\x00\x00"
    assert encode_data(Data(DataType.FLOAT64, 1.0)) == b"\x18\x3f\xf0" + bytes(6)
    decoded, _ = decode_data(b"\x17\x7f\xc0\x00\x00")
    assert isinstance(decoded.value, float) and math.isnan(decoded.value)


def test_bit_string_matches_gurux() -> None:
    value = Data(DataType.BIT_STRING, BitString(10, b"\xa0\xc0"))

    raw = encode_data(value)

    assert raw == gurux_encode(GuruxType.BITSTRING, "1010000011") == b"\x04\x0a\xa0\xc0"
    assert str(gurux_decode(raw)) == "1010000011"
    assert decode_data(raw) == (value, 4)


@pytest.mark.parametrize(("data_type", "size"), [(DataType.DATE_TIME, 12), (DataType.DATE, 5), (DataType.TIME, 4)])
def test_fixed_size_date_types_carry_no_length(data_type: DataType, size: int) -> None:
    payload = bytes(range(1, size + 1))
    raw = encode_data(Data(data_type, payload))

    assert raw == bytes((data_type,)) + payload
    assert decode_data(raw) == (Data(data_type, payload), size + 1)


def test_date_time_value_is_read_by_gurux() -> None:
    payload = encode_date_time(datetime(2024, 3, 5, 13, 4, 5, 670_000, tzinfo=timezone(timedelta(hours=1))))

    read = gurux_decode(encode_data(Data(DataType.DATE_TIME, payload)))

    assert read.value == datetime(2024, 3, 5, 13, 4, 5, 670_000, tzinfo=timezone(timedelta(hours=1)))


def test_nested_structure_is_read_by_gurux() -> None:
    # A profile-generic capture-object definition: structure{class id, logical name, attribute, data index}.
    capture = structure(long_unsigned(3), octets(bytes([1, 0, 1, 8, 0, 255])), integer(2), long_unsigned(0))
    value = array(capture, capture, structure(NULL, boolean(True), array()))

    raw = encode_data(value)
    read = gurux_decode(raw)

    assert raw[:2] == b"\x01\x03"
    assert [int(x) for x in read[0][::2]] == [3, 2]
    assert bytes(read[1][1]) == bytes([1, 0, 1, 8, 0, 255])
    assert list(read[2]) == [None, True, []]
    assert decode_data(raw) == (value, len(raw))


def test_decode_starts_at_offset_and_leaves_trailing_bytes() -> None:
    raw = b"\xee\xee" + encode_data(unsigned(7)) + b"\x99"

    assert decode_data(raw, 2) == (unsigned(7), 4)
    assert decode_data(memoryview(raw), 2) == (unsigned(7), 4)


def test_long_count_forms_decode() -> None:
    raw = b"\x01\x81\x80" + b"\x00" * 0x80

    value, end = decode_data(raw)

    assert len(value.items) == 0x80 and end == len(raw)


# ------------------------------------------------------------------------------------------------ hostile input


def test_nesting_past_max_depth_is_refused() -> None:
    ok = b"\x02\x01" * MAX_DEPTH + b"\x00"  # MAX_DEPTH containers, one inside the other
    deep = b"\x02\x01" * (MAX_DEPTH + 1) + b"\x00"

    decode_data(ok)
    with pytest.raises(RemoteProtocolError, match="nesting"):
        decode_data(deep)


def test_count_larger_than_remaining_input_is_refused_before_work() -> None:
    with pytest.raises(RemoteProtocolError, match="too long"):
        decode_data(b"\x01\x84\xff\xff\xff\xff\x00")


def test_count_past_max_elements_is_refused() -> None:
    raw = b"\x01\x84" + (MAX_ELEMENTS + 1).to_bytes(4, "big") + b"\x00" * (MAX_ELEMENTS + 1)
    with pytest.raises(RemoteProtocolError, match="too long"):
        decode_data(raw)


@pytest.mark.parametrize("tag", [DataType.OCTET_STRING, DataType.VISIBLE_STRING, DataType.UTF8_STRING])
def test_string_past_max_octets_is_refused(tag: DataType) -> None:
    raw = bytes((tag,)) + b"\x84" + (MAX_OCTETS + 1).to_bytes(4, "big") + b"a" * (MAX_OCTETS + 1)
    with pytest.raises(RemoteProtocolError, match="longer than"):
        decode_data(raw)


def test_bit_string_past_max_octets_is_refused() -> None:
    with pytest.raises(RemoteProtocolError, match="longer than"):
        decode_data(b"\x04\x84\xff\xff\xff\xff")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x12\x01",  # long-unsigned needs two octets
        b"\x09\x05abc",  # octet-string shorter than its length
        b"\x04\x09\x01",  # 9 bits need two octets
        b"\x19" + bytes(11),  # date-time is 12 octets
        b"\x02\x02\x00",  # structure of two holds one
        b"\x18\x00",
    ],
)
def test_truncated_input_is_a_remote_error(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match=r"truncated|too long"):
        decode_data(raw)


@pytest.mark.parametrize("tag", [7, 8, 11, 14, 28, 0xFF])
def test_unknown_tag_is_a_remote_error(tag: int) -> None:
    with pytest.raises(RemoteProtocolError, match="unknown data type"):
        decode_data(bytes((tag, 0, 0, 0, 0)))


def test_compact_array_is_refused_both_ways() -> None:
    with pytest.raises(RemoteProtocolError, match="COMPACT_ARRAY"):
        decode_data(b"\x13\x00\x00")
    with pytest.raises(LocalProtocolError):
        encode_data(Data(DataType.COMPACT_ARRAY, ()))


def test_invalid_utf8_is_a_remote_error() -> None:
    with pytest.raises(RemoteProtocolError, match="utf-8"):
        decode_data(b"\x0c\x02\xc3\x28")


def test_any_nonzero_boolean_octet_is_true() -> None:
    assert decode_data(b"\x03\xff") == (boolean(True), 2)


# ------------------------------------------------------------------------------------------------ encode errors


@pytest.mark.parametrize(
    "value",
    [
        Data(DataType.OCTET_STRING, "not bytes"),
        Data(DataType.VISIBLE_STRING, b"bytes"),
        Data(DataType.VISIBLE_STRING, "☀ is not Latin-1"),
        Data(DataType.BOOLEAN, 1),
        Data(DataType.NULL_DATA, 0),
        Data(DataType.FLOAT32, 1e300),
        Data(DataType.FLOAT32, "1.0"),
        Data(DataType.DATE_TIME, bytes(11)),
        Data(DataType.BIT_STRING, BitString(9, b"\x00")),
        Data(DataType.BIT_STRING, b"\x00"),
        Data(DataType.STRUCTURE, [unsigned(1)]),  # type: ignore[arg-type]
        Data(DataType.ARRAY, (1, 2)),  # type: ignore[arg-type]
        Data(DataType.OCTET_STRING, bytes(MAX_OCTETS + 1)),
    ],
)
def test_value_not_matching_its_type_is_a_local_error(value: Data) -> None:
    with pytest.raises(LocalProtocolError):
        encode_data(value)


def test_encoding_past_max_depth_is_a_local_error() -> None:
    value = NULL
    for _ in range(MAX_DEPTH + 1):
        value = structure(value)
    with pytest.raises(LocalProtocolError, match="nesting"):
        encode_data(value)


# ------------------------------------------------------------------------------------------------ round trip


def _scalars() -> st.SearchStrategy[Data]:
    integers = [
        st.integers(
            -(1 << (8 * size - 1)) if signed else 0, (1 << (8 * size - 1)) - 1 if signed else (1 << (8 * size)) - 1
        ).map(lambda n, t=data_type: Data(t, n))
        for data_type, (signed, size) in INTEGER_WIDTHS.items()
    ]
    return st.one_of(
        st.just(NULL),
        st.booleans().map(boolean),
        st.binary(max_size=300).map(octets),
        st.text(st.characters(max_codepoint=255), max_size=40).map(lambda s: Data(DataType.VISIBLE_STRING, s)),
        st.text(max_size=40).map(lambda s: Data(DataType.UTF8_STRING, s)),
        st.floats(width=32, allow_nan=False).map(lambda f: Data(DataType.FLOAT32, f)),
        st.floats(allow_nan=False).map(lambda f: Data(DataType.FLOAT64, f)),
        st.binary(min_size=12, max_size=12).map(lambda b: Data(DataType.DATE_TIME, b)),
        st.binary(min_size=5, max_size=5).map(lambda b: Data(DataType.DATE, b)),
        st.binary(min_size=4, max_size=4).map(lambda b: Data(DataType.TIME, b)),
        st.integers(0, 40).flatmap(
            lambda n: st.binary(min_size=(n + 7) // 8, max_size=(n + 7) // 8).map(
                lambda b: Data(DataType.BIT_STRING, BitString(n, b))
            )
        ),
        *integers,
    )


DATA = st.recursive(
    _scalars(),
    lambda children: st.one_of(
        st.lists(children, max_size=6).map(lambda items: structure(*items)),
        st.lists(children, max_size=6).map(lambda items: array(*items)),
    ),
    max_leaves=30,
)


@given(DATA)
def test_every_value_round_trips(value: Data) -> None:
    raw = encode_data(value)

    assert decode_data(raw) == (value, len(raw))


def test_module_exports() -> None:
    assert set(axdr.__all__) <= set(dir(axdr))


def test_a_pre_encoded_value_is_sent_as_encoded_and_equals_its_plain_value() -> None:
    plain = array(structure(long_unsigned(8), octets(bytes(6))), structure(long_unsigned(3), octets(b"\x01" * 6)))
    cached = pre_encoded(plain)
    assert encode_data(cached) == encode_data(plain)
    assert cached == plain and plain == cached and hash(cached) == hash(plain)
    assert cached.items == plain.items
    assert decode_data(encode_data(cached)) == (plain, len(encode_data(plain)))
    with pytest.raises(LocalProtocolError):
        pre_encoded(Data(DataType.OCTET_STRING, "not bytes"))
