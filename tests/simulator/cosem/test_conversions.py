"""Plain values to typed Data: integers and strings, register scaling and roll-over, date-times, defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hes.obis import AttributeSpec
from hes.simulator.cosem.conversions import (
    UNSPECIFIED_DATE_TIME,
    data_type,
    decode_time,
    default_data,
    encode_time,
    fits,
    plain_data,
    scaled,
    to_data,
    zero_data,
)
from hes.simulator.dlms.values import NULL, BitString, Data, DataType, octets
from tests.simulator.cosem.conftest import NOW, WAT


@pytest.mark.parametrize(
    ("value", "type_name", "size", "expected"),
    [
        (42, "long-unsigned", None, Data(DataType.LONG_UNSIGNED, 42)),
        (41.6, "unsigned", None, Data(DataType.UNSIGNED, 42)),
        (True, "boolean", None, Data(DataType.BOOLEAN, True)),
        ("SIM1", "octet-string", None, Data(DataType.OCTET_STRING, b"SIM1")),
        (b"\x01\x02", "octet-string", None, Data(DataType.OCTET_STRING, b"\x01\x02")),
        ("FW 1.0", "visible-string", None, Data(DataType.VISIBLE_STRING, "FW 1.0")),
        (b"FW", "visible-string", None, Data(DataType.VISIBLE_STRING, "FW")),
        (5, "bit-string", 8, Data(DataType.BIT_STRING, BitString(8, b"\x05"))),
        (1.5, "float32", None, Data(DataType.FLOAT32, 1.5)),
        (None, "long", None, NULL),
        (octets(b"x"), "long", None, octets(b"x")),
    ],
)
def test_to_data(value: object, type_name: str, size: int | None, expected: Data) -> None:
    assert to_data(value, type_name, size) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "type_name"),
    [("ten", "long"), (70_000, "long-unsigned"), (-1, "unsigned"), (float("nan"), "long"), (256, "bit-string")],
)
def test_to_data_refuses_what_does_not_fit(value: object, type_name: str) -> None:
    with pytest.raises(ValueError):
        to_data(value, type_name)  # type: ignore[arg-type]


def test_moments_become_local_date_time_octets() -> None:
    utc = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    raw = encode_time(utc, WAT)
    assert raw[5] == 12 and int.from_bytes(raw[9:11], "big", signed=True) == -60
    assert to_data(utc, "octet-string", 12, WAT) == octets(raw)
    assert to_data(utc, "date-time", None, WAT) == Data(DataType.DATE_TIME, raw)
    with pytest.raises(ValueError):
        to_data(utc, "long")


def test_decode_time() -> None:
    assert decode_time(encode_time(NOW, WAT), WAT) == NOW
    naive = encode_time(datetime(2024, 5, 1, 12, 0), None)
    assert decode_time(naive, WAT) == NOW  # no deviation: the meter's local time
    assert decode_time(UNSPECIFIED_DATE_TIME, WAT) is None
    assert decode_time(bytes(12), WAT) is None  # month 0: not a date


@pytest.mark.parametrize(
    ("quantity", "scaler", "type_name", "raw"),
    [
        (12_345.6, 0, "double-long-unsigned", 12_346),
        (12_345.6, 1, "double-long-unsigned", 1_235),
        (231.46, -1, "long-unsigned", 2_315),
        (4_294_967_296.0 + 5, 0, "double-long-unsigned", 5),  # rolls over like a meter register
        (70_000.0, 0, "long", 32_767),  # signed registers stop at their limit
        (-70_000.0, 0, "long", -32_768),
        (-3.0, 0, "long-unsigned", 0),
    ],
)
def test_scaled(quantity: float, scaler: int, type_name: str, raw: int) -> None:
    assert scaled(quantity, scaler, type_name) == Data(data_type(type_name), raw)


def test_scaled_floats_and_refusals() -> None:
    assert scaled(1.25, -2, "float64") == Data(DataType.FLOAT64, 125.0)
    with pytest.raises(ValueError):
        scaled(1.0, 0, "structure")
    with pytest.raises(ValueError):
        scaled(float("inf"), 0, "long")


def test_zero_data_and_defaults() -> None:
    assert zero_data("double-long-unsigned") == Data(DataType.DOUBLE_LONG_UNSIGNED, 0)
    assert zero_data("octet-string", 12) == octets(UNSPECIFIED_DATE_TIME)
    assert zero_data("bit-string", 32) == Data(DataType.BIT_STRING, BitString(32, bytes(4)))
    assert zero_data("structure") == NULL
    assert zero_data("array") == Data(DataType.ARRAY, ())
    assert default_data(AttributeSpec(2, "value", "long-unsigned", default="180")) == Data(DataType.LONG_UNSIGNED, 180)
    assert default_data(AttributeSpec(8, "enabled", "boolean", default="true")) == Data(DataType.BOOLEAN, True)
    assert default_data(AttributeSpec(2, "value", "unsigned", default="999")) is None  # does not fit
    assert default_data(AttributeSpec(2, "value", "unsigned")) is None


def test_fits_checks_type_and_size() -> None:
    token = AttributeSpec(2, "value", "octet-string", size=10)
    assert fits(octets(bytes(10)), token) and not fits(octets(bytes(11)), token)
    assert not fits(Data(DataType.VISIBLE_STRING, "x"), token)
    with pytest.raises(ValueError, match="not an IEC 62056-6-2 data type"):
        data_type("datetime")


def test_plain_data_guesses_by_python_type() -> None:
    assert plain_data(True) == Data(DataType.BOOLEAN, True)
    assert plain_data(-5) == Data(DataType.DOUBLE_LONG, -5)
    assert plain_data(0.5) == Data(DataType.FLOAT64, 0.5)
    assert plain_data("x") == Data(DataType.VISIBLE_STRING, "x")
    assert plain_data(b"x") == octets(b"x")
    assert plain_data(NOW + timedelta(0), WAT).type is DataType.OCTET_STRING
    assert plain_data(None) == NULL
